import type { ScanRecord } from "../storage/ScanRecord.js"
import type { NmapHost, NmapRun, NmapScript } from "../tools/nmap/result.js"
import { appendix, type ScanContext } from "./appendix.js"
import { type Block, code, type Document, facts, heading, paragraph, strong, table, verbatim, warning } from "./Document.js"
import { bestOs, folded, hostAddress, hostnamesOf, portLabel, serviceText, totalsOf } from "./nmapFacts.js"

/**
 * The report of one stored scan: what ran and how it ended, every flag
 * that says the result is not the whole truth (partial, cut by a results
 * bound, truncated output), the totals, each host with its ports, services
 * and versions, the script findings, and the appendix.
 */

export interface ScanReportInput {
  readonly context: ScanContext & { readonly scan: ScanRecord }
  /** The result as an nmap report, when the tool produces one. */
  readonly run: NmapRun | undefined
  readonly generatedAt: string
}

const overview = (r: ScanRecord): Block =>
  facts([
    ["Scan", [code(r.scan_id)]],
    ["Tool", [code(r.tool)]],
    ["Target", r.resolved_target === r.target ? [code(r.target)] : [code(r.target), " pinned to ", code(r.resolved_target)]],
    ["Command line", [code(r.argv.join(" "))]],
    ["Started", [r.started_at]],
    ["Finished", [r.finished_at ?? "not yet (running)"]],
    ["Duration", [r.execution_time === null ? "?" : `${r.execution_time} s`]],
    ["Outcome", [
      strong(r.outcome),
      r.returncode === null ? "" : `, exit code ${r.returncode}`,
      r.signal === null ? "" : `, signal ${r.signal}`
    ]],
    ["Result", [r.parse_status]]
  ])

/** Every reason the report may not hold everything the target would show. */
export const flagsOf = (r: ScanRecord, run: NmapRun | undefined): ReadonlyArray<string> => [
  ...(r.outcome === "succeeded" ? [] : [`the scan ended ${r.outcome}${r.error === null ? "" : `: ${r.error}`}`]),
  ...(r.timed_out ? ["the tool was stopped at its timeout"] : []),
  ...(run?.partial === true ? [`partial result: ${run.partial_reason ?? "the run ended before the tool finished"}`] : []),
  ...(run !== undefined && !run.complete && !run.partial ? ["the report was not read to its end"] : []),
  ...(run?.dropped === undefined ? [] : [
    `results bound ${run.dropped.limit} reached: ${run.dropped.hosts_dropped} hosts (${run.dropped.hosts_up_dropped} up, ` +
    `${run.dropped.open_ports_dropped} open ports) are counted but not in this report` +
    (run.dropped.first_address === undefined ? "" : `, from ${run.dropped.first_address} to ${run.dropped.last_address ?? "?"}`)
  ]),
  ...(r.truncated_stdout ? ["the stored raw output was truncated"] : []),
  ...(run?.hosts.filter((h) => h.timedout === true).map((h) => `nmap gave up on ${hostAddress(h)} (host timeout)`) ?? [])
]

const totals = (run: NmapRun): Block => {
  const t = totalsOf(run)
  const stats = run.runstats?.hosts
  return facts([
    ["Hosts", [`${t.hosts} reported, ${t.up} up, ${t.down} down`, stats === undefined ? "" : ` (nmap: ${stats.up} up of ${stats.total})`]],
    ["Open ports", [String(t.open)]],
    ["Ports listed", [String(t.listed)]],
    ["Script results", [String(t.scripts)]],
    ["Scanner", [code([run.scanner.name, run.scanner.version].filter((v) => v !== undefined).join(" "))]],
    ...(run.runstats?.finished?.elapsed === undefined ? [] : [["Elapsed (nmap)", [`${run.runstats.finished.elapsed} s`]] as const])
  ])
}

const hostTable = (run: NmapRun): Block =>
  table(
    ["Address", "Host names", "State", "Open ports", "Other ports", "OS"],
    run.hosts.map((h) => [
      code(hostAddress(h)),
      code(hostnamesOf(h)),
      `${h.status.state} (${h.status.reason})`,
      h.ports.filter((p) => p.state === "open").map(portLabel).join(", "),
      folded(h),
      code(bestOs(h) ?? "")
    ])
  )

const scriptBlocks = (where: string, scripts: ReadonlyArray<NmapScript>): ReadonlyArray<Block> =>
  scripts.flatMap((s) => [paragraph(strong(where), " script ", code(s.id)), verbatim(s.output)])

const hostBlocks = (h: NmapHost): ReadonlyArray<Block> => {
  const address = hostAddress(h)
  const ports = h.ports.length === 0 ? [paragraph("No ports listed.")] : [table(
    ["Port", "State", "Reason", "Service", "Product and version"],
    h.ports.map((p) => [portLabel(p), p.state, p.reason, code(p.service?.name ?? ""), code(serviceText(p.service))])
  )]
  return [
    heading(2, `Host ${address}`),
    ...ports,
    ...h.ports.flatMap((p) => scriptBlocks(portLabel(p), p.scripts)),
    ...scriptBlocks("host", h.hostscripts)
  ]
}

const resultBlocks = (input: ScanReportInput): ReadonlyArray<Block> => {
  const run = input.run
  if (run === undefined) {
    return [
      heading(1, "Result"),
      paragraph(`${input.context.scan.tool} has no host and port result; its summary:`),
      verbatim(input.context.scan.summary)
    ]
  }
  return [
    heading(1, "Totals"),
    totals(run),
    heading(1, "Hosts"),
    run.hosts.length === 0 ? paragraph("No hosts in the result.") : hostTable(run),
    ...run.hosts.filter((h) => h.ports.length > 0 || h.hostscripts.length > 0).flatMap(hostBlocks),
    ...(run.prescripts.length + run.postscripts.length === 0 ? [] : [
      heading(1, "Scan-wide script results"),
      ...scriptBlocks("pre-scan", run.prescripts),
      ...scriptBlocks("post-scan", run.postscripts)
    ]),
    ...(run.warnings.length === 0 ? [] : [heading(1, "Warnings"), verbatim(run.warnings.join("\n"))])
  ]
}

export const scanDocument = (input: ScanReportInput): Document => {
  const r = input.context.scan
  return {
    title: `Scan report: ${r.tool} ${r.target}`,
    blocks: [
      overview(r),
      ...flagsOf(r, input.run).map((flag) => warning(flag)),
      ...resultBlocks(input),
      ...appendix([input.context], input.generatedAt)
    ]
  }
}
