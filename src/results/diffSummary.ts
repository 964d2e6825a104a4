import { summaryBudget } from "../tools/summary/budget.js"
import { fence } from "../tools/summary/fence.js"
import type { SummaryOptions } from "../tools/ToolSpec.js"
import type { PortChange, ScanDiff } from "./ScanDiff.js"

/**
 * A diff in a few lines, within the summary budget: the counts first, then
 * hosts that came, went or changed state, ports opened and closed, other port
 * changes, service and script changes; what does not fit is counted. Service
 * and script text came from the hosts: fenced.
 */

const TEXT_CHARS = 120

const portLine = (sign: string, c: PortChange): string =>
  `${sign} ${c.address} ${c.portid}/${c.protocol} ${c.to} (was ${c.from})${
    c.service !== undefined ? ` ${fence(c.service, TEXT_CHARS)}` : ""
  }`

const countsLine = (d: ScanDiff): string => {
  const parts = [
    `${d.hosts_new.length} new hosts`,
    `${d.hosts_gone.length} gone`,
    `${d.hosts_state_changed.length} changed state`,
    `${d.ports_opened.length} ports opened`,
    `${d.ports_closed.length} closed`,
    `${d.ports_state_changed.length} other port changes`,
    `${d.services_changed.length} service changes`,
    `${d.scripts_changed.length} script changes`,
    `${d.hosts_unchanged} hosts unchanged`
  ]
  return `changes from ${d.a.scanner} scan ${d.a.start ?? "?"} to ${d.b.start ?? "?"}: ${parts.join(", ")}`
}

export const summarizeDiff = (d: ScanDiff, options: SummaryOptions): string => {
  const budget = summaryBudget(options.tokens)
  budget.must(countsLine(d))
  if (!d.a.complete || !d.b.complete) {
    budget.must("one of the scans is partial or was cut by results bounds: a port or host missing from it may show as a change")
  }
  for (const h of d.hosts_new) {
    budget.offer(`+ host ${h.address} ${h.state}${h.open_ports.length > 0 ? `, open ${h.open_ports.join(",")}` : ""}`, "new hosts")
  }
  for (const h of d.hosts_gone) budget.offer(`- host ${h.address} (was ${h.state})`, "gone hosts")
  for (const h of d.hosts_state_changed) budget.offer(`~ host ${h.address} ${h.to} (was ${h.from})`, "host state changes")
  for (const c of d.ports_opened) budget.offer(portLine("+", c), "opened ports")
  for (const c of d.ports_closed) budget.offer(portLine("-", c), "closed ports")
  for (const c of d.ports_state_changed) budget.offer(portLine("~", c), "port state changes")
  for (const s of d.services_changed) {
    const what = s.changes.map((c) => `${c.field} ${fence(c.from ?? "", TEXT_CHARS)} to ${fence(c.to ?? "", TEXT_CHARS)}`).join("; ")
    budget.offer(`~ ${s.address} ${s.portid}/${s.protocol} service ${what}`, "service changes")
  }
  for (const s of d.scripts_changed) {
    const text = s.change === "removed" ? s.from : s.to
    budget.offer(`~ ${s.address} ${s.where} ${s.id} ${s.change}: ${fence(text ?? "", TEXT_CHARS)}`, "script changes")
  }
  return budget.text(options.resource)
}
