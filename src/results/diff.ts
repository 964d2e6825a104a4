import {
  hostAddress as addressOf,
  type NmapHost,
  type NmapPort,
  type NmapRun,
  type NmapScript,
  type NmapService
} from "../tools/nmap/result.js"
import type { PortChange, ScanDiff, ScriptChange, ServiceChange } from "./ScanDiff.js"

/**
 * The changes from scan `a` to scan `b` (see ScanDiff.ts for the semantics).
 * Pure and total: script output is compared as text, never interpreted, so
 * no output can make the diff fail.
 */

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends ReadonlyArray<infer E> ? Array<E> : T[K] }

const portKey = (p: { readonly protocol: string; readonly portid: number }) => `${p.portid}/${p.protocol}`

const openPorts = (h: NmapHost): ReadonlyArray<string> => h.ports.filter((p) => p.state === "open").map(portKey)

/** The state of a port the host's table does not list: that of its folded ports when they share one state. */
const absentState = (h: NmapHost): string => {
  const states = new Set(h.extraports.map((e) => e.state))
  return states.size === 1 ? [...states][0]! : "unknown"
}

const serviceLabel = (s: NmapService | undefined): string | undefined =>
  s === undefined ? undefined : [s.name, s.product, s.version].filter((v) => v !== undefined && v !== "").join(" ")

const serviceFields = (s: NmapService | undefined) => ({
  name: s?.name,
  product: s?.product,
  version: s?.version,
  extrainfo: s?.extrainfo,
  tunnel: s?.tunnel,
  cpe: s === undefined || s.cpe.length === 0 ? undefined : s.cpe.join(" ")
})

const serviceChange = (address: string, pa: NmapPort, pb: NmapPort): ServiceChange | undefined => {
  const fa = serviceFields(pa.service)
  const fb = serviceFields(pb.service)
  const changes = (Object.keys(fa) as Array<keyof typeof fa>)
    .filter((field) => fa[field] !== fb[field])
    .map((field) => ({ field, from: fa[field], to: fb[field] }))
  return changes.length === 0 ? undefined : { address, protocol: pb.protocol, portid: pb.portid, changes }
}

const scriptChanges = (
  address: string,
  where: string,
  a: ReadonlyArray<NmapScript>,
  b: ReadonlyArray<NmapScript>
): ReadonlyArray<ScriptChange> => {
  const before = new Map(a.map((s) => [s.id, s.output]))
  const after = new Map(b.map((s) => [s.id, s.output]))
  const out: Array<ScriptChange> = []
  for (const [id, from] of before) {
    const to = after.get(id)
    if (to === undefined) out.push({ address, where, id, change: "removed", from })
    else if (to !== from) out.push({ address, where, id, change: "changed", from, to })
  }
  for (const [id, to] of after) if (!before.has(id)) out.push({ address, where, id, change: "added", to })
  return out
}

interface HostChanges {
  readonly opened: Array<PortChange>
  readonly closed: Array<PortChange>
  readonly changed: Array<PortChange>
  readonly services: Array<ServiceChange>
  readonly scripts: Array<ScriptChange>
}

const portChanges = (address: string, ha: NmapHost, hb: NmapHost, into: HostChanges): void => {
  const pa = new Map(ha.ports.map((p) => [portKey(p), p]))
  const pb = new Map(hb.ports.map((p) => [portKey(p), p]))
  const keys = [...new Set([...pa.keys(), ...pb.keys()])]
  for (const key of keys) {
    const a = pa.get(key)
    const b = pb.get(key)
    const from = a?.state ?? absentState(ha)
    const to = b?.state ?? absentState(hb)
    const port = (b ?? a)!
    if (from !== to) {
      const service = serviceLabel(to === "open" ? b?.service : a?.service ?? b?.service)
      const change = { address, protocol: port.protocol, portid: port.portid, from, to, ...(service ? { service } : {}) }
      if (to === "open") into.opened.push(change)
      else if (from === "open") into.closed.push(change)
      else into.changed.push(change)
    }
    if (a !== undefined && b !== undefined) {
      const service = serviceChange(address, a, b)
      if (service !== undefined) into.services.push(service)
      into.scripts.push(...scriptChanges(address, key, a.scripts, b.scripts))
    }
  }
  into.scripts.push(...scriptChanges(address, "host", ha.hostscripts, hb.hostscripts))
}

const changeCount = (c: HostChanges): number => c.opened.length + c.closed.length + c.changed.length + c.services.length + c.scripts.length

const byAddress = (run: NmapRun): Map<string, NmapHost> => new Map(run.hosts.map((h) => [addressOf(h), h]))

const side = (run: NmapRun): ScanDiff["a"] => ({
  scanner: run.scanner.name,
  version: run.scanner.version,
  args: run.scanner.args,
  start: run.scanner.start,
  complete: run.complete
})

export const diffScans = (a: NmapRun, b: NmapRun): ScanDiff => {
  const ha = byAddress(a)
  const hb = byAddress(b)
  const diff: Mutable<ScanDiff> = {
    a: side(a),
    b: side(b),
    hosts_new: [],
    hosts_gone: [],
    hosts_state_changed: [],
    ports_opened: [],
    ports_closed: [],
    ports_state_changed: [],
    services_changed: [],
    scripts_changed: [],
    hosts_unchanged: 0
  }
  const changes: HostChanges = {
    opened: diff.ports_opened,
    closed: diff.ports_closed,
    changed: diff.ports_state_changed,
    services: diff.services_changed,
    scripts: diff.scripts_changed
  }
  for (const [address, before] of ha) {
    const after = hb.get(address)
    if (after === undefined) {
      diff.hosts_gone.push({ address, state: before.status.state, open_ports: openPorts(before) })
      continue
    }
    const before_ = changeCount(changes)
    const stateChanged = before.status.state !== after.status.state
    if (stateChanged) diff.hosts_state_changed.push({ address, from: before.status.state, to: after.status.state })
    portChanges(address, before, after, changes)
    if (!stateChanged && changeCount(changes) === before_) diff.hosts_unchanged++
  }
  for (const [address, after] of hb) {
    if (!ha.has(address)) diff.hosts_new.push({ address, state: after.status.state, open_ports: openPorts(after) })
  }
  return diff
}
