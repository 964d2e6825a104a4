import type { NmapExtraPorts, NmapHost, NmapPort, NmapRun, NmapService } from "./result.js"

/**
 * A compact text rendering of an nmap report for agents: one line per host,
 * ports inline, script output and OS guesses indented beneath. Raw nmap
 * output repeats headers and padding; this keeps the facts and drops the rest.
 */

/** nmap lists up to ten OS guesses; the rest stay in the structured result. */
const OS_SHOWN = 3

const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim()

const serviceText = (s: NmapService): string => {
  // A name from the port table is nmap's guess, not a detection: mark it so.
  const name = s.method === "table" ? `${s.name}?` : s.name
  const detail = [s.product, s.version].filter((v) => v !== undefined && v !== "").join(" ")
  const parts = [
    s.tunnel !== undefined ? `${s.tunnel}/${name}` : name,
    detail,
    s.extrainfo !== undefined ? `(${s.extrainfo})` : "",
    s.ostype !== undefined ? `os=${s.ostype}` : "",
    s.cpe.length > 0 ? `[${s.cpe.join(" ")}]` : "",
    s.banner !== undefined && s.banner !== "" ? `banner=${JSON.stringify(s.banner)}` : ""
  ]
  return parts.filter((p) => p !== "").join(" ")
}

const portText = (p: NmapPort): string => {
  const reason = p.state === "open" || p.state === "closed" || p.reason === "" ? "" : ` (${p.reason})`
  const service = p.service !== undefined && p.service.name !== "" ? ` ${serviceText(p.service)}` : ""
  return `${p.portid}/${p.protocol} ${p.state}${reason}${service}`
}

const extraText = (e: NmapExtraPorts): string => {
  const reasons = e.reasons.length === 1 && e.reasons[0]?.count === e.count
    ? ` (${e.reasons[0].reason})`
    : e.reasons.length > 0
    ? ` (${e.reasons.map((r) => `${r.count} ${r.reason}`).join(", ")})`
    : ""
  return `${e.count} ${e.state}${reasons}`
}

const scriptLines = (prefix: string, scripts: NmapHost["hostscripts"]): ReadonlyArray<string> =>
  scripts.map((s) => {
    const lines = s.output.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "")
    return lines.length <= 1
      ? `  ${prefix}${s.id}: ${oneLine(s.output)}`
      : [`  ${prefix}${s.id}:`, ...lines.map((l) => `    ${l.trim()}`)].join("\n")
  })

const hostText = (h: NmapHost): string => {
  const ip = h.addresses.find((a) => a.addrtype !== "mac")?.addr ?? h.addresses[0]?.addr ?? "?"
  const mac = h.addresses.find((a) => a.addrtype === "mac")
  const aka = [
    ...h.hostnames.map((n) => n.name),
    ...(mac !== undefined ? [`mac ${mac.addr}${mac.vendor !== undefined ? ` ${mac.vendor}` : ""}`] : [])
  ]
  const head = `${ip}${aka.length > 0 ? ` (${aka.join(", ")})` : ""} ${h.status.state}`
  const ports = [...h.ports.map(portText), ...h.extraports.map(extraText)]
  const lines = [ports.length > 0 ? `${head}: ${ports.join("; ")}` : head]
  for (const p of h.ports) lines.push(...scriptLines(`${p.portid}/${p.protocol} `, p.scripts))
  lines.push(...scriptLines("host ", h.hostscripts))
  if (h.os.length > 0) {
    const shown = h.os.slice(0, OS_SHOWN).map((m) => `${m.name} ${m.accuracy}%`).join(", ")
    const more = h.os.length > OS_SHOWN ? ` (+${h.os.length - OS_SHOWN} less likely)` : ""
    lines.push(`  os: ${shown}${more}`)
  }
  const extras = [
    h.uptime !== undefined ? `uptime ${h.uptime.seconds}s${h.uptime.lastboot !== undefined ? ` (since ${h.uptime.lastboot})` : ""}` : "",
    h.distance !== undefined ? `distance ${h.distance}` : ""
  ].filter((e) => e !== "")
  if (extras.length > 0) lines.push(`  ${extras.join(", ")}`)
  return lines.join("\n")
}

export const summarizeNmap = (run: NmapRun): string => {
  const stats = run.runstats?.hosts
  const up = stats?.up ?? run.hosts.filter((h) => h.status.state === "up").length
  const total = stats?.total
  const finished = run.runstats?.finished
  const header = [
    `${run.scanner.name}${run.scanner.version !== undefined ? ` ${run.scanner.version}` : ""}`,
    `${up} host${up === 1 ? "" : "s"} up${total !== undefined ? ` of ${total}` : ""}`,
    finished?.elapsed !== undefined ? `${finished.elapsed}s` : "",
    finished?.exit !== undefined && finished.exit !== "success" ? `exit ${finished.exit}` : ""
  ].filter((p) => p !== "").join(", ")
  const lines = [header, ...run.hosts.map(hostText)]
  if (finished?.errormsg !== undefined) lines.push(`error: ${oneLine(finished.errormsg)}`)
  if (!run.complete) lines.push("PARTIAL: the report was cut short; hosts and ports above are what was written before")
  for (const w of run.warnings) lines.push(`note: ${w}`)
  return lines.join("\n")
}
