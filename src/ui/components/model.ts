import type { ScanDiff } from "../../results/ScanDiff.js"
import type { NmapHost, NmapPort, NmapRun } from "../../tools/nmap/result.js"

/**
 * What the shared components show, as plain functions over the stored
 * shapes (`ScanRecord.structured` of nmap and masscan, the REST and ScanDiff
 * tool's `ScanDiff`): pure, so they are tested without a browser and the
 * console and the MCP App render the same rows.
 */

/** One port of one host, flattened for the hosts × ports table. */
export interface PortRow {
  readonly host: string
  readonly hostname: string
  readonly hostState: string
  readonly port: string
  readonly portid: number
  readonly protocol: string
  readonly state: string
  readonly service: string
  readonly version: string
  readonly scripts: ReadonlyArray<{ readonly id: string; readonly output: string }>
}

const hostAddress = (host: NmapHost): string => host.addresses.find((a) => a.addrtype !== "mac")?.addr ?? host.addresses[0]?.addr ?? ""

const versionOf = (port: NmapPort): string =>
  [port.service?.product, port.service?.version, port.service?.extrainfo].filter((part) => part !== undefined && part !== "").join(" ")

/** Whether a value looks like the structured result of nmap or masscan (the components render nothing else). */
export const isNmapRun = (value: unknown): value is NmapRun =>
  typeof value === "object" && value !== null && Array.isArray((value as { readonly hosts?: unknown }).hosts)

/** Every port nmap listed, host by host in report order, ports by protocol then number. */
export const portRows = (run: NmapRun): ReadonlyArray<PortRow> =>
  run.hosts.flatMap((host) => {
    const address = hostAddress(host)
    const ports = [...host.ports].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.portid - b.portid)
    return ports.map((port) => ({
      host: address,
      hostname: host.hostnames[0]?.name ?? "",
      hostState: host.status.state,
      port: `${port.portid}/${port.protocol}`,
      portid: port.portid,
      protocol: port.protocol,
      state: port.state,
      service: port.service?.name ?? "",
      version: versionOf(port),
      scripts: port.scripts.map((script) => ({ id: script.id, output: script.output }))
    }))
  })

/**
 * The filter: every whitespace-separated term must occur (case-insensitive)
 * in the row's host, hostname, port, state, service or version; `state:open`
 * style terms match that one field exactly.
 */
export const matchesFilter = (row: PortRow, filter: string): boolean =>
  filter.trim().split(/\s+/).filter((term) => term !== "").every((term) => {
    const field = /^(host|port|state|service):(.+)$/i.exec(term)
    if (field !== null) {
      const value = String(row[field[1]!.toLowerCase() as "host" | "port" | "state" | "service"]).toLowerCase()
      return value === field[2]!.toLowerCase()
    }
    const needle = term.toLowerCase()
    return [row.host, row.hostname, row.port, row.state, row.service, row.version].some((text) => text.toLowerCase().includes(needle))
  })

/** The matrix: hosts as rows, ports (any host lists) as columns, each cell the port's state on that host or undefined. */
export interface PortMatrix {
  readonly hosts: ReadonlyArray<{ readonly address: string; readonly hostname: string; readonly state: string }>
  readonly ports: ReadonlyArray<string>
  readonly cells: ReadonlyMap<string, string>
}

export const cellKey = (host: string, port: string) => `${host} ${port}`

export const portMatrix = (rows: ReadonlyArray<PortRow>): PortMatrix => {
  const hosts = new Map<string, { address: string; hostname: string; state: string }>()
  const ports = new Map<string, { readonly protocol: string; readonly portid: number }>()
  const cells = new Map<string, string>()
  for (const row of rows) {
    if (!hosts.has(row.host)) hosts.set(row.host, { address: row.host, hostname: row.hostname, state: row.hostState })
    ports.set(row.port, row)
    cells.set(cellKey(row.host, row.port), row.state)
  }
  const order = [...ports.entries()].sort(([, a], [, b]) => a.protocol.localeCompare(b.protocol) || a.portid - b.portid)
  return { hosts: [...hosts.values()], ports: order.map(([port]) => port), cells }
}

/** Hosts the report lists with no port rows (down, or nothing open): shown so a filterless table still names them. */
export const hostsWithoutPorts = (run: NmapRun): ReadonlyArray<{ readonly address: string; readonly state: string }> =>
  run.hosts.filter((host) => host.ports.length === 0).map((host) => ({ address: hostAddress(host), state: host.status.state }))

/** How a diff row is highlighted: `opened` (new exposure), `closed` (gone), `changed` (anything else that moved). */
export type DiffKind = "opened" | "closed" | "changed"

/** One line of a diff, whatever changed. */
export interface DiffRow {
  readonly kind: DiffKind
  readonly what: "host" | "port" | "service" | "script"
  readonly host: string
  readonly where: string
  readonly from: string
  readonly to: string
  readonly detail: string
}

const portWhere = (change: { readonly portid: number; readonly protocol: string }) => `${change.portid}/${change.protocol}`

/** Every change of a diff as rows, in the order an operator reads them: hosts, ports, services, scripts. */
export const diffRows = (diff: ScanDiff): ReadonlyArray<DiffRow> => [
  ...diff.hosts_new.map((h): DiffRow => ({
    kind: "opened",
    what: "host",
    host: h.address,
    where: "host",
    from: "absent",
    to: h.state,
    detail: h.open_ports.length > 0 ? `open: ${h.open_ports.join(", ")}` : ""
  })),
  ...diff.hosts_gone.map((h): DiffRow => ({
    kind: "closed",
    what: "host",
    host: h.address,
    where: "host",
    from: h.state,
    to: "absent",
    detail: h.open_ports.length > 0 ? `was open: ${h.open_ports.join(", ")}` : ""
  })),
  ...diff.hosts_state_changed.map((h): DiffRow => ({
    kind: h.to === "up" ? "opened" : h.from === "up" ? "closed" : "changed",
    what: "host",
    host: h.address,
    where: "host",
    from: h.from,
    to: h.to,
    detail: ""
  })),
  ...diff.ports_opened.map((p): DiffRow => portRow("opened", p)),
  ...diff.ports_closed.map((p): DiffRow => portRow("closed", p)),
  ...diff.ports_state_changed.map((p): DiffRow => portRow("changed", p)),
  ...diff.services_changed.map((s): DiffRow => ({
    kind: "changed",
    what: "service",
    host: s.address,
    where: portWhere(s),
    from: s.changes.map((c) => `${c.field}=${c.from ?? "∅"}`).join(" "),
    to: s.changes.map((c) => `${c.field}=${c.to ?? "∅"}`).join(" "),
    detail: s.changes.map((c) => c.field).join(", ")
  })),
  ...diff.scripts_changed.map((s): DiffRow => ({
    kind: s.change === "added" ? "opened" : s.change === "removed" ? "closed" : "changed",
    what: "script",
    host: s.address,
    where: s.where,
    from: s.from ?? "",
    to: s.to ?? "",
    detail: s.id
  }))
]

const portRow = (kind: DiffKind, p: ScanDiff["ports_opened"][number]): DiffRow => ({
  kind,
  what: "port",
  host: p.address,
  where: portWhere(p),
  from: p.from,
  to: p.to,
  detail: p.service ?? ""
})

/** Counts for the diff's summary line. */
export const diffCounts = (rows: ReadonlyArray<DiffRow>): Readonly<Record<DiffKind, number>> => ({
  opened: rows.filter((row) => row.kind === "opened").length,
  closed: rows.filter((row) => row.kind === "closed").length,
  changed: rows.filter((row) => row.kind === "changed").length
})

export const diffRowMatches = (row: DiffRow, filter: string): boolean =>
  filter.trim().split(/\s+/).filter((term) => term !== "").every((term) =>
    [row.kind, row.what, row.host, row.where, row.from, row.to, row.detail].some((text) => text.toLowerCase().includes(term.toLowerCase()))
  )
