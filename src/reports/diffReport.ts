import type { ScanComparison } from "../results/compare.js"
import type { PortChange, ScanDiff, ScriptChange } from "../results/ScanDiff.js"
import { appendix, type ScanContext } from "./appendix.js"
import { type Block, code, type Document, facts, heading, type Inline, paragraph, strong, table, verbatim, warning } from "./Document.js"

/**
 * The report of a diff: which scans, then what opened, closed and changed
 * (hosts, ports, services, script output), and the appendix of both scans.
 */

export interface DiffReportInput {
  readonly comparison: ScanComparison
  readonly from: ScanContext
  readonly to: ScanContext
  readonly generatedAt: string
}

const side = (
  s: ScanComparison["from"]
): ReadonlyArray<Inline> => [code(s.scan_id), ` (${s.tool} ${s.target}, ${s.started_at}, ${s.outcome})`]

export const changeCount = (d: ScanDiff): number =>
  d.hosts_new.length + d.hosts_gone.length + d.hosts_state_changed.length + d.ports_opened.length + d.ports_closed.length +
  d.ports_state_changed.length + d.services_changed.length + d.scripts_changed.length

const portTable = (title: string, changes: ReadonlyArray<PortChange>): ReadonlyArray<Block> =>
  changes.length === 0 ? [] : [
    heading(2, `${title} (${changes.length})`),
    table(
      ["Host", "Port", "Now", "Before", "Service"],
      changes.map((c) => [code(c.address), `${c.portid}/${c.protocol}`, c.to, c.from, code(c.service ?? "")])
    )
  ]

const scriptBlocks = (s: ScriptChange): ReadonlyArray<Block> => [
  paragraph(code(s.address), " ", s.where, " script ", code(s.id), " ", strong(s.change)),
  ...(s.from === undefined ? [] : [paragraph("Before:"), verbatim(s.from)]),
  ...(s.to === undefined ? [] : [paragraph(s.from === undefined ? "Output:" : "After:"), verbatim(s.to)])
]

/** The changes of a diff as blocks, without headings above level 2 (reused by the history report). */
export const changeBlocks = (d: ScanDiff): ReadonlyArray<Block> => [
  ...(d.hosts_new.length === 0 ? [] : [
    heading(2, `New hosts (${d.hosts_new.length})`),
    table(["Host", "State", "Open ports"], d.hosts_new.map((h) => [code(h.address), h.state, h.open_ports.join(", ")]))
  ]),
  ...(d.hosts_gone.length === 0 ? [] : [
    heading(2, `Hosts gone (${d.hosts_gone.length})`),
    table(["Host", "Was", "Open ports before"], d.hosts_gone.map((h) => [code(h.address), h.state, h.open_ports.join(", ")]))
  ]),
  ...(d.hosts_state_changed.length === 0 ? [] : [
    heading(2, `Host state changes (${d.hosts_state_changed.length})`),
    table(["Host", "Now", "Before"], d.hosts_state_changed.map((h) => [code(h.address), h.to, h.from]))
  ]),
  ...portTable("Ports opened", d.ports_opened),
  ...portTable("Ports closed", d.ports_closed),
  ...portTable("Other port state changes", d.ports_state_changed),
  ...(d.services_changed.length === 0 ? [] : [
    heading(2, `Service changes (${d.services_changed.length})`),
    table(
      ["Host", "Port", "Field", "Before", "After"],
      d.services_changed.flatMap((s) =>
        s.changes.map((c) => [code(s.address), `${s.portid}/${s.protocol}`, c.field, code(c.from ?? ""), code(c.to ?? "")])
      )
    )
  ]),
  ...(d.scripts_changed.length === 0
    ? []
    : [heading(2, `Script changes (${d.scripts_changed.length})`), ...d.scripts_changed.flatMap(scriptBlocks)])
]

export const diffDocument = (input: DiffReportInput): Document => {
  const { diff, from, to } = input.comparison
  const partial = !diff.a.complete || !diff.b.complete
  return {
    title: `Diff report: ${from.scan_id} to ${to.scan_id}`,
    blocks: [
      facts([["From (earlier)", side(from)], ["To (later)", side(to)]]),
      ...(partial
        ? [warning("one of the scans is partial or was cut by a results bound: a host or port missing from it may show as a change")]
        : []),
      heading(1, "Changes"),
      facts([
        ["Hosts", [
          `${diff.hosts_new.length} new, ${diff.hosts_gone.length} gone, ${diff.hosts_state_changed.length} changed state, ` +
          `${diff.hosts_unchanged} unchanged`
        ]],
        ["Ports", [
          `${diff.ports_opened.length} opened, ${diff.ports_closed.length} closed, ${diff.ports_state_changed.length} other changes`
        ]],
        ["Services", [`${diff.services_changed.length} changed`]],
        ["Scripts", [`${diff.scripts_changed.length} changed`]]
      ]),
      ...(changeCount(diff) === 0 ? [paragraph("Nothing changed between the two scans.")] : changeBlocks(diff)),
      ...appendix([input.from, input.to], input.generatedAt)
    ]
  }
}
