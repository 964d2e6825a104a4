import { Schema } from "effect"

/**
 * What changed between two nmap (or masscan) results, ndiff's semantics as
 * data: hosts matched by address; a port absent from a host's table has the
 * state of the host's folded ports (`extraports`) when there is one such
 * state, else `unknown` (not scanned). The ScanDiff tool's `outputSchema` and
 * the REST diff payload.
 */

const optString = Schema.optional(Schema.String)

export const DiffScan = Schema.Struct({
  scanner: Schema.String,
  version: optString,
  args: optString,
  /** Start of the scan, seconds since the epoch, as nmap wrote it. */
  start: Schema.optional(Schema.Number),
  /** Whether this side's result held the whole report: a diff against a partial scan may name changes that are only gaps. */
  complete: Schema.Boolean
})

export const DiffHost = Schema.Struct({
  address: Schema.String,
  state: Schema.String,
  /** Open ports of the host, as `portid/protocol`. */
  open_ports: Schema.Array(Schema.String)
})

export const HostStateChange = Schema.Struct({ address: Schema.String, from: Schema.String, to: Schema.String })

export const PortChange = Schema.Struct({
  address: Schema.String,
  protocol: Schema.String,
  portid: Schema.Number,
  from: Schema.String,
  to: Schema.String,
  /** The service on the side where the port is open (or on the later side). */
  service: optString
})
export type PortChange = typeof PortChange.Type

export const ServiceField = Schema.Literal("name", "product", "version", "extrainfo", "tunnel", "cpe")

export const ServiceChange = Schema.Struct({
  address: Schema.String,
  protocol: Schema.String,
  portid: Schema.Number,
  changes: Schema.Array(Schema.Struct({ field: ServiceField, from: optString, to: optString }))
})
export type ServiceChange = typeof ServiceChange.Type

export const ScriptChange = Schema.Struct({
  address: Schema.String,
  /** `portid/protocol`, or `host` for a host script. */
  where: Schema.String,
  id: Schema.String,
  change: Schema.Literal("added", "removed", "changed"),
  from: optString,
  to: optString
})
export type ScriptChange = typeof ScriptChange.Type

export const ScanDiff = Schema.Struct({
  a: DiffScan,
  b: DiffScan,
  hosts_new: Schema.Array(DiffHost),
  hosts_gone: Schema.Array(DiffHost),
  hosts_state_changed: Schema.Array(HostStateChange),
  /** Ports open in the later scan that were not open before. */
  ports_opened: Schema.Array(PortChange),
  /** Ports open before that are not open in the later scan. */
  ports_closed: Schema.Array(PortChange),
  /** Other state changes, e.g. closed to filtered. */
  ports_state_changed: Schema.Array(PortChange),
  services_changed: Schema.Array(ServiceChange),
  scripts_changed: Schema.Array(ScriptChange),
  /** Hosts present in both with nothing changed. */
  hosts_unchanged: Schema.Number
}).annotations({ title: "ScanDiff", description: "Changes between two scans (ndiff semantics)" })
export type ScanDiff = typeof ScanDiff.Type
