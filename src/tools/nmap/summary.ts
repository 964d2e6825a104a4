import { defaultResultLimits } from "../stream.js"
import { clip, type SummaryBudget, summaryBudget } from "../summary/budget.js"
import { fence } from "../summary/fence.js"
import type { SummaryOptions } from "../ToolSpec.js"
import type { NmapHost, NmapRun } from "./result.js"
import { addressOf, type Fact, type Facts, HostDigest, hostsText, nmapFacts } from "./summaryFacts.js"

/**
 * The text an agent reads about an nmap (or masscan) result, within a token
 * budget at any scan size: totals from nmap's own run statistics and how the
 * run ended first; then hosts grouped by identical port tables with their
 * addresses as ranges; then details (services and versions, script results,
 * OS guesses, names) while the budget lasts; then what was left out and where
 * the whole result is.
 */

const WARNINGS_SHOWN = 3
const ARGS_TOKENS = 40
const NOTE_CHARS = 160
/** nmap's error message is shown whatever the budget: kept short. */
const ERROR_CHARS = 100

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`

const openCount = (hosts: ReadonlyArray<NmapHost>) => {
  let n = 0
  for (const h of hosts) for (const p of h.ports) if (p.state === "open") n++
  return n
}

const totalsLine = (run: NmapRun): string => {
  const name = `${run.scanner.name}${run.scanner.version !== undefined ? ` ${run.scanner.version}` : ""}`
  const args = run.scanner.args === undefined ? "" : ` (${clip(run.scanner.args.replace(/\s+/g, " "), ARGS_TOKENS)})`
  const stats = run.runstats?.hosts
  const elapsed = run.runstats?.finished?.elapsed
  const totals = stats !== undefined
    ? `${plural(stats.up, "host")} up, ${stats.down} down of ${stats.total} scanned${elapsed !== undefined ? ` in ${elapsed}s` : ""}`
    : `no run statistics (the run did not finish); ${
      plural(run.hosts.filter((h) => h.status.state === "up").length, "host")
    } up in the report`
  const dropped = run.dropped
  const open = openCount(run.hosts) + (dropped?.open_ports_dropped ?? 0)
  const withOpen = run.hosts.filter((h) => h.ports.some((p) => p.state === "open")).length
  const openText = dropped === undefined
    ? `${plural(open, "open port")} on ${plural(withOpen, "host")}`
    : `${plural(open, "open port")} (${openCount(run.hosts)} on the ${plural(run.hosts.length, "host")} kept)`
  return `${name}${args}: ${totals}; ${openText}`
}

/** How the run ended and what the result lacks: always shown, bounded by construction. */
const stateLines = (run: NmapRun): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const finished = run.runstats?.finished
  if (finished?.exit !== undefined && finished.exit !== "success") {
    lines.push(`exit ${finished.exit}${finished.errormsg !== undefined ? `: ${fence(finished.errormsg, ERROR_CHARS)}` : ""}`)
  }
  if (run.partial) lines.push(`PARTIAL: ${run.partial_reason ?? "the run did not finish"}; the result holds what was read before`)
  const d = run.dropped
  if (d !== undefined) {
    const span = d.first_address === undefined ? "" : ` (${d.first_address} to ${d.last_address ?? d.first_address})`
    lines.push(
      `results.${d.limit} reached: ${d.hosts_seen} hosts seen, ${d.hosts_kept} kept, ${d.hosts_dropped} dropped${span} ` +
        `with ${d.hosts_up_dropped} up and ${d.open_ports_dropped} open ports; raise results.max_hosts/max_bytes or scan less at once`
    )
  }
  const timedOut = run.hosts.filter((h) => h.timedout === true).map(addressOf)
  if (timedOut.length > 0) lines.push(`gave up on ${hostsText(timedOut)} (host timeout): their ports are incomplete`)
  return lines
}

/** nmap's own notes: warnings, unscanned targets, messages; few shown, the rest counted. */
const notes = (run: NmapRun, budget: SummaryBudget): void => {
  const all = [
    ...run.targets.map((t) => `target ${fence(t.specification, NOTE_CHARS)} ${t.status ?? ""} ${t.reason ?? ""}`.trim()),
    ...run.output.map((o) => `nmap ${o.type}: ${fence(o.text.trim(), NOTE_CHARS)}`),
    ...run.warnings.map((w) => `note: ${fence(w, NOTE_CHARS)}`)
  ]
  for (const line of all.slice(0, WARNINGS_SHOWN)) budget.offer(line, "notes")
  budget.omit("notes", all.length - WARNINGS_SHOWN)
}

const groupLines = (digest: HostDigest, budget: SummaryBudget): void => {
  const sorted = [...digest.groups].sort((a, b) => b[1].length - a[1].length)
  for (const [table, addresses] of sorted) budget.offer(`${hostsText(addresses)}: ${table}`, "hosts (their groups)", addresses.length)
}

/** A fact with the hosts it holds for; in a report of one host, every fact is about that host. */
const factLine = (fact: Fact, oneHost: boolean): string =>
  oneHost || (fact.hosts.length === 1 && fact.hosts[0] === "") ? fact.text : `${fact.text} on ${hostsText(fact.hosts)}`

const detailLines = (facts: Facts, kind: string, budget: SummaryBudget, oneHost: boolean): void => {
  for (const fact of facts.list) budget.offer(factLine(fact, oneHost), kind)
}

/**
 * `given` is what a stream parser digested of `run.hosts` while the tool ran
 * (the same hosts, in order); without it the hosts are digested here.
 */
export const summarizeNmap = (
  run: NmapRun,
  options: SummaryOptions = { tokens: defaultResultLimits.summaryTokens },
  given?: HostDigest
): string => {
  const digest = given?.size === run.hosts.length ? given : new HostDigest().catchUp(run.hosts)
  const budget = summaryBudget(options.tokens)
  budget.must(totalsLine(run))
  for (const line of stateLines(run)) budget.must(line)
  notes(run, budget)
  groupLines(digest, budget)
  const facts = nmapFacts(run, digest)
  const oneHost = run.hosts.length === 1
  detailLines(facts.services, "service details", budget, oneHost)
  detailLines(facts.scripts, "script results", budget, oneHost)
  detailLines(facts.os, "OS guesses", budget, oneHost)
  detailLines(facts.guesses, "port-number guesses", budget, oneHost)
  // Names are listed per address already.
  detailLines(facts.names, "host names", budget, true)
  detailLines(facts.other, "host facts", budget, oneHost)
  return budget.text(options.resource)
}
