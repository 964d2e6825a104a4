import { hostAddress, type NmapHost, type NmapPort, type NmapRun, type NmapService } from "../tools/nmap/result.js"

/** What reports and exports read of an nmap result, counted and labelled once. */

export const portLabel = (p: Pick<NmapPort, "portid" | "protocol">): string => `${p.portid}/${p.protocol}`

export const hostnamesOf = (h: NmapHost): string => h.hostnames.map((n) => n.name).join(", ")

export const openPortsOf = (h: NmapHost): ReadonlyArray<NmapPort> => h.ports.filter((p) => p.state === "open")

export const bestOs = (h: NmapHost): string | undefined => {
  const best = h.os[0]
  return best === undefined ? undefined : `${best.name} (${best.accuracy}%)`
}

export const folded = (h: NmapHost): string => h.extraports.map((e) => `${e.count} ${e.state}`).join(", ")

export const serviceText = (s: NmapService | undefined): string =>
  s === undefined ? "" : [s.product, s.version, s.extrainfo === undefined ? undefined : `(${s.extrainfo})`]
    .filter((v) => v !== undefined && v !== "").join(" ")

export interface Totals {
  readonly hosts: number
  readonly up: number
  readonly down: number
  readonly open: number
  readonly listed: number
  readonly scripts: number
}

export const totalsOf = (run: NmapRun): Totals => {
  const up = run.hosts.filter((h) => h.status.state === "up").length
  return {
    hosts: run.hosts.length,
    up,
    down: run.hosts.length - up,
    open: run.hosts.reduce((n, h) => n + openPortsOf(h).length, 0),
    listed: run.hosts.reduce((n, h) => n + h.ports.length, 0),
    scripts: run.hosts.reduce((n, h) => n + h.hostscripts.length + h.ports.reduce((m, p) => m + p.scripts.length, 0), 0) +
      run.prescripts.length + run.postscripts.length
  }
}

export { hostAddress }
