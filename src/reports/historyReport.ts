import { diffScans } from "../results/diff.js"
import type { ScanDiff } from "../results/ScanDiff.js"
import type { NmapRun } from "../tools/nmap/result.js"
import type { ScanContext } from "./appendix.js"
import { changeBlocks, changeCount } from "./diffReport.js"
import { type Block, code, type Document, facts, heading, paragraph, table, warning } from "./Document.js"
import { hostAddress, openPortsOf, portLabel, totalsOf } from "./nmapFacts.js"

/**
 * A target's history: its scans oldest first, each compared with the
 * previous scan of the same configuration (tool, template and arguments,
 * so a scan of other ports is never read as ports closing), the changes
 * of each step, where the target stands now, and the appendix as a table.
 */

export interface HistoryItem {
  readonly context: ScanContext
  readonly run: NmapRun | undefined
}

export interface HistoryReportInput {
  readonly target: string
  /** Newest first, as the store lists them. */
  readonly items: ReadonlyArray<HistoryItem>
  /** Older scans exist beyond those given. */
  readonly more: boolean
  readonly generatedAt: string
}

interface Step {
  readonly item: HistoryItem
  readonly previous: HistoryItem | undefined
  readonly diff: ScanDiff | undefined
}

const configuration = (item: HistoryItem) => {
  const s = item.context.scan
  return JSON.stringify([s.tool, s.target, s.template, s.args])
}

const comparable = (item: HistoryItem) => item.run !== undefined && item.context.scan.outcome === "succeeded"

/** Each scan, oldest first, with the diff from the previous comparable scan of its configuration. */
export const historySteps = (items: ReadonlyArray<HistoryItem>): ReadonlyArray<Step> => {
  const last = new Map<string, HistoryItem>()
  return [...items].reverse().map((item) => {
    const key = configuration(item)
    const previous = comparable(item) ? last.get(key) : undefined
    if (comparable(item)) last.set(key, item)
    return { item, previous, diff: previous === undefined ? undefined : diffScans(previous.run!, item.run!) }
  })
}

const changeText = (step: Step): string => {
  if (step.diff === undefined) return comparable(step.item) ? "first of its configuration" : "not compared"
  const d = step.diff
  const n = changeCount(d)
  if (n === 0) return "no change"
  return [
    d.ports_opened.length > 0 ? `+${d.ports_opened.length} opened` : "",
    d.ports_closed.length > 0 ? `-${d.ports_closed.length} closed` : "",
    d.hosts_new.length > 0 ? `${d.hosts_new.length} new hosts` : "",
    d.hosts_gone.length > 0 ? `${d.hosts_gone.length} hosts gone` : "",
    d.services_changed.length > 0 ? `${d.services_changed.length} service changes` : "",
    d.scripts_changed.length + d.ports_state_changed.length + d.hosts_state_changed.length > 0 ? "other changes" : ""
  ].filter((t) => t !== "").join(", ")
}

const timeline = (steps: ReadonlyArray<Step>): Block =>
  table(
    ["Started", "Scan", "Tool", "Outcome", "Hosts up", "Open ports", "Change"],
    steps.map((step) => {
      const s = step.item.context.scan
      const t = step.item.run === undefined ? undefined : totalsOf(step.item.run)
      return [
        s.started_at,
        code(s.scan_id),
        code(s.tool),
        s.outcome,
        t === undefined ? "" : String(t.up),
        t === undefined ? "" : String(t.open),
        changeText(step)
      ]
    })
  )

const stepBlocks = (step: Step): ReadonlyArray<Block> =>
  step.diff === undefined || changeCount(step.diff) === 0 ? [] : [
    heading(1, `Changes at ${step.item.context.scan.started_at}`),
    paragraph("Scan ", code(step.item.context.scan.scan_id), " compared with ", code(step.previous!.context.scan.scan_id), ":"),
    ...changeBlocks(step.diff)
  ]

const current = (items: ReadonlyArray<HistoryItem>): ReadonlyArray<Block> => {
  const latest = items.find(comparable)
  if (latest === undefined) return []
  const hosts = latest.run!.hosts.filter((h) => h.status.state === "up")
  return [
    heading(1, "Where it stands now"),
    paragraph("As of scan ", code(latest.context.scan.scan_id), ` (${latest.context.scan.started_at}):`),
    hosts.length === 0
      ? paragraph("No host up.")
      : table(["Host", "Open ports"], hosts.map((h) => [code(hostAddress(h)), openPortsOf(h).map(portLabel).join(", ") || "none"]))
  ]
}

const appendixTable = (items: ReadonlyArray<HistoryItem>, generatedAt: string): ReadonlyArray<Block> => [
  heading(1, "Appendix: engagement, approvals and policy"),
  table(
    ["Scan", "Key", "Engagement", "Scope hash", "Approval", "Requested by", "Approved by", "Policy notes"],
    items.map(({ context: c }) => [
      code(c.scan.scan_id),
      code(c.scan.caller_id),
      code(c.scan.engagement ?? "none"),
      code(c.scan.engagement_hash ?? ""),
      code(c.approval?.approval_id ?? (c.approvalsRead ? "none" : "not readable now")),
      code(c.approval?.requested_by ?? ""),
      code(c.approval?.decided_by ?? ""),
      code(c.scan.notes.join("; "))
    ])
  ),
  paragraph(`Generated at ${generatedAt} by the Security MCP Server from the scan store.`)
]

export const historyDocument = (input: HistoryReportInput): Document => {
  const steps = historySteps(input.items)
  return {
    title: `History report: ${input.target}`,
    blocks: [
      facts([
        ["Target", [code(input.target)]],
        ["Scans", [`${input.items.length}${input.more ? " newest (older ones exist: see GET /history)" : ""}`]],
        ...(steps.length === 0
          ? []
          : [
            ["Period", [`${steps[0]!.item.context.scan.started_at} to ${steps[steps.length - 1]!.item.context.scan.started_at}`]] as const
          ])
      ]),
      ...(input.more ? [warning(`only the ${input.items.length} newest scans are in this report`)] : []),
      ...(steps.length === 0
        ? [paragraph("No stored scans of this target that this key may read.")]
        : [heading(1, "Timeline"), timeline(steps)]),
      ...steps.flatMap(stepBlocks),
      ...current(input.items),
      ...(input.items.length === 0 ? [] : appendixTable(input.items, input.generatedAt))
    ]
  }
}
