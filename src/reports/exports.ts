import { Schema } from "effect"
import { ScanId, type ScanRecord } from "../storage/ScanRecord.js"
import type { NmapHost, NmapPort, NmapRun } from "../tools/nmap/result.js"
import { bestOs, hostAddress } from "./nmapFacts.js"

/**
 * The hosts and ports of a stored nmap or masscan scan as data: JSON (one
 * schema, documented in OpenAPI) and CSV, one row per port, a host without
 * ports as one row. CSV cells are always quoted (RFC 4180), and a cell that
 * a spreadsheet would run as a formula (starting with = + - @, a tab or a
 * carriage return) is prefixed with `'`, so a hostile banner cannot become
 * one.
 */

const nullableString = Schema.NullOr(Schema.String)

export const ExportPort = Schema.Struct({
  protocol: Schema.String,
  portid: Schema.Number,
  state: Schema.String,
  reason: Schema.String,
  service: nullableString,
  product: nullableString,
  version: nullableString,
  extrainfo: nullableString,
  tunnel: nullableString,
  cpe: Schema.Array(Schema.String),
  scripts: Schema.Array(Schema.String).annotations({ description: "Ids of the scripts that reported on the port" })
})

export const ExportHost = Schema.Struct({
  address: Schema.String,
  hostnames: Schema.Array(Schema.String),
  state: Schema.String,
  reason: Schema.String,
  os: nullableString.annotations({ description: "Best OS match with its accuracy, when OS detection ran" }),
  extraports: Schema.Array(Schema.Struct({ state: Schema.String, count: Schema.Number })),
  ports: Schema.Array(ExportPort)
})

export const ScanExport = Schema.Struct({
  scan_id: ScanId,
  tool: Schema.String,
  target: Schema.String,
  resolved_target: Schema.String,
  started_at: Schema.String,
  finished_at: nullableString,
  outcome: Schema.String,
  complete: Schema.Boolean.annotations({ description: "The result held the whole report" }),
  partial: Schema.Boolean.annotations({ description: "The run ended early or the report was cut" }),
  hosts_dropped: Schema.Number.annotations({ description: "Hosts a results bound kept out of the result (counted, not listed)" }),
  hosts: Schema.Array(ExportHost)
}).annotations({ identifier: "ScanExport", description: "The hosts and ports of a stored nmap or masscan scan" })
export type ScanExport = typeof ScanExport.Type

const orNull = (text: string | undefined) => text ?? null

const exportPort = (p: NmapPort): typeof ExportPort.Type => ({
  protocol: p.protocol,
  portid: p.portid,
  state: p.state,
  reason: p.reason,
  service: orNull(p.service?.name),
  product: orNull(p.service?.product),
  version: orNull(p.service?.version),
  extrainfo: orNull(p.service?.extrainfo),
  tunnel: orNull(p.service?.tunnel),
  cpe: p.service?.cpe ?? [],
  scripts: p.scripts.map((s) => s.id)
})

const exportHost = (h: NmapHost): typeof ExportHost.Type => ({
  address: hostAddress(h),
  hostnames: h.hostnames.map((n) => n.name),
  state: h.status.state,
  reason: h.status.reason,
  os: orNull(bestOs(h)),
  extraports: h.extraports.map((e) => ({ state: e.state, count: e.count })),
  ports: h.ports.map(exportPort)
})

export const scanExport = (record: ScanRecord, run: NmapRun): ScanExport => ({
  scan_id: record.scan_id,
  tool: record.tool,
  target: record.target,
  resolved_target: record.resolved_target,
  started_at: record.started_at,
  finished_at: record.finished_at,
  outcome: record.outcome,
  complete: run.complete,
  partial: run.partial,
  hosts_dropped: run.dropped?.hosts_dropped ?? 0,
  hosts: run.hosts.map(exportHost)
})

/** A spreadsheet runs a cell starting with these as a formula (OWASP's CSV injection list). */
const FORMULA = /^[=+\-@\t\r]/

export const csvCell = (value: string | number | null): string => {
  const text = value === null ? "" : String(value)
  const safe = FORMULA.test(text) ? `'${text}` : text
  return `"${safe.replace(/"/g, "\"\"")}"`
}

export const CSV_COLUMNS = [
  "scan_id",
  "address",
  "hostnames",
  "host_state",
  "protocol",
  "port",
  "state",
  "reason",
  "service",
  "product",
  "version",
  "extrainfo",
  "tunnel",
  "cpe",
  "scripts"
] as const

const csvRows = (data: ScanExport): ReadonlyArray<ReadonlyArray<string | number | null>> =>
  data.hosts.flatMap((h) => {
    const host = [data.scan_id, h.address, h.hostnames.join(" "), h.state]
    if (h.ports.length === 0) return [[...host, null, null, null, null, null, null, null, null, null, null, null]]
    return h.ports.map((p) => [
      ...host,
      p.protocol,
      p.portid,
      p.state,
      p.reason,
      p.service,
      p.product,
      p.version,
      p.extrainfo,
      p.tunnel,
      p.cpe.join(" "),
      p.scripts.join(" ")
    ])
  })

/** RFC 4180: CRLF line ends, a header row. */
export const exportCsv = (data: ScanExport): string =>
  [CSV_COLUMNS, ...csvRows(data)].map((row) => row.map(csvCell).join(",")).join("\r\n") + "\r\n"
