import { Schema } from "effect"

/**
 * The typed form of an nmap `-oX` report (also produced by masscan's `-oX`).
 * Field names follow nmap's own XML names (nmap.dtd) so readers of nmap docs
 * recognise them. Every fact the DTD defines for a host is kept; left out are
 * only the progress marks (`taskbegin`, `taskprogress`, `taskend`) and
 * `hosthint`, an early notice of a host that its `host` element repeats.
 */

const optString = Schema.optional(Schema.String)
const optNumber = Schema.optional(Schema.Number)

export const NmapScriptElem = Schema.Struct({ key: optString, value: Schema.String })
export type NmapScriptElem = typeof NmapScriptElem.Type

/** A structured NSE result: `<table>`s of `<elem>`s, nested. */
export interface NmapScriptTable {
  readonly key?: string | undefined
  readonly elems: ReadonlyArray<NmapScriptElem>
  readonly tables: ReadonlyArray<NmapScriptTable>
}
export const NmapScriptTable: Schema.Schema<NmapScriptTable> = Schema.Struct({
  key: optString,
  elems: Schema.Array(NmapScriptElem),
  tables: Schema.Array(Schema.suspend((): Schema.Schema<NmapScriptTable> => NmapScriptTable))
}).annotations({ identifier: "NmapScriptTable" })

export const NmapScript = Schema.Struct({
  id: Schema.String,
  /** The script's text output, as nmap prints it. */
  output: Schema.String,
  /** The same result as data, when the script returns structured output. */
  elems: Schema.Array(NmapScriptElem),
  tables: Schema.Array(NmapScriptTable)
})
export type NmapScript = typeof NmapScript.Type

export const NmapService = Schema.Struct({
  name: Schema.String,
  product: optString,
  version: optString,
  extrainfo: optString,
  tunnel: optString,
  proto: optString,
  rpcnum: optString,
  lowver: optString,
  highver: optString,
  hostname: optString,
  ostype: optString,
  devicetype: optString,
  /** The `-sV` fingerprint nmap submits for unrecognised services: the service's raw answers. */
  servicefp: optString,
  /** `table` = guessed from the port number, `probed` = confirmed by version detection. */
  method: optString,
  conf: optNumber,
  /** masscan's banner. */
  banner: optString,
  cpe: Schema.Array(Schema.String)
})
export type NmapService = typeof NmapService.Type

export const NmapPort = Schema.Struct({
  protocol: Schema.String,
  portid: Schema.Number,
  state: Schema.String,
  reason: Schema.String,
  reason_ttl: optNumber,
  reason_ip: optString,
  /** The user owning the service (ident). */
  owner: optString,
  service: Schema.optional(NmapService),
  scripts: Schema.Array(NmapScript)
})
export type NmapPort = typeof NmapPort.Type

/** Ports nmap folded into one line, e.g. "998 closed (reset)". */
export const NmapExtraPorts = Schema.Struct({
  state: Schema.String,
  count: Schema.Number,
  reasons: Schema.Array(Schema.Struct({
    reason: Schema.String,
    count: Schema.Number,
    protocol: optString,
    ports: optString
  }))
})
export type NmapExtraPorts = typeof NmapExtraPorts.Type

export const NmapOsClass = Schema.Struct({
  type: optString,
  vendor: Schema.String,
  osfamily: Schema.String,
  osgen: optString,
  accuracy: Schema.Number,
  cpe: Schema.Array(Schema.String)
})

export const NmapOsMatch = Schema.Struct({
  name: Schema.String,
  accuracy: Schema.Number,
  /** Line of the match in nmap-os-db. */
  line: optNumber,
  osclass: Schema.Array(NmapOsClass)
})
export type NmapOsMatch = typeof NmapOsMatch.Type

const Sequence = Schema.Struct({ class: Schema.String, values: Schema.String })

export const NmapHost = Schema.Struct({
  status: Schema.Struct({ state: Schema.String, reason: Schema.String, reason_ttl: optNumber }),
  addresses: Schema.Array(Schema.Struct({ addr: Schema.String, addrtype: Schema.String, vendor: optString })),
  hostnames: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.String })),
  ports: Schema.Array(NmapPort),
  extraports: Schema.Array(NmapExtraPorts),
  hostscripts: Schema.Array(NmapScript),
  os: Schema.Array(NmapOsMatch),
  /** Ports OS detection used. */
  portused: Schema.Array(Schema.Struct({ state: Schema.String, proto: Schema.String, portid: Schema.Number })),
  /** OS fingerprints nmap submits when no match is exact. */
  osfingerprint: Schema.Array(Schema.String),
  uptime: Schema.optional(Schema.Struct({ seconds: Schema.Number, lastboot: optString })),
  distance: optNumber,
  tcpsequence: Schema.optional(Schema.Struct({ index: Schema.Number, difficulty: Schema.String, values: Schema.String })),
  ipidsequence: Schema.optional(Sequence),
  tcptssequence: Schema.optional(Sequence),
  trace: Schema.optional(Schema.Struct({
    proto: optString,
    port: optNumber,
    hops: Schema.Array(Schema.Struct({ ttl: Schema.Number, rtt: optString, ipaddr: optString, host: optString }))
  })),
  /** Round-trip estimates in microseconds. */
  times: Schema.optional(Schema.Struct({ srtt: Schema.Number, rttvar: Schema.Number, to: Schema.Number })),
  /** Broadcast responses (smurf) seen. */
  smurf: optNumber,
  starttime: optNumber,
  endtime: optNumber,
  /** nmap gave up on the host (--host-timeout): what it found before is kept. */
  timedout: Schema.optional(Schema.Boolean),
  comment: optString
})
export type NmapHost = typeof NmapHost.Type

/** The address a host is known by: its IP address, not its MAC. */
export const hostAddress = (h: NmapHost): string => h.addresses.find((a) => a.addrtype !== "mac")?.addr ?? h.addresses[0]?.addr ?? ""

const NmapRunStats = Schema.Struct({
  finished: Schema.optional(Schema.Struct({
    time: optNumber,
    timestr: optString,
    elapsed: optNumber,
    summary: optString,
    exit: optString,
    errormsg: optString
  })),
  hosts: Schema.optional(Schema.Struct({ up: Schema.Number, down: Schema.Number, total: Schema.Number }))
})

/** Hosts the result does not hold because a `results` bound was reached: counted, never silently lost. */
export const NmapDropped = Schema.Struct({
  /** The bound that was reached first. */
  limit: Schema.Literal("max_hosts", "max_bytes"),
  max_hosts: Schema.Number,
  max_bytes: Schema.Number,
  hosts_seen: Schema.Number,
  hosts_kept: Schema.Number,
  hosts_dropped: Schema.Number,
  hosts_up_dropped: Schema.Number,
  open_ports_dropped: Schema.Number,
  first_address: optString,
  last_address: optString
})
export type NmapDropped = typeof NmapDropped.Type

export const NmapRun = Schema.Struct({
  scanner: Schema.Struct({
    name: Schema.String,
    version: optString,
    args: optString,
    start: optNumber,
    startstr: optString,
    xmloutputversion: optString,
    profile_name: optString
  }),
  scaninfo: Schema.Array(Schema.Struct({
    type: Schema.String,
    protocol: Schema.String,
    scanflags: optString,
    numservices: optNumber,
    services: optString
  })),
  verbose: optNumber,
  debugging: optNumber,
  /** Targets nmap reported on without scanning them, e.g. a name it could not resolve. */
  targets: Schema.Array(Schema.Struct({ specification: Schema.String, status: optString, reason: optString })),
  prescripts: Schema.Array(NmapScript),
  hosts: Schema.Array(NmapHost),
  postscripts: Schema.Array(NmapScript),
  /** nmap's messages written into the report (`<output>`), e.g. errors. */
  output: Schema.Array(Schema.Struct({ type: Schema.String, text: Schema.String })),
  runstats: Schema.optional(NmapRunStats),
  /** True when the report was read to its end and every host it reported is in `hosts`. */
  complete: Schema.Boolean,
  /** The run ended before the tool finished (timeout, cancellation, shutdown) or the report was cut: `hosts` holds what was read. */
  partial: Schema.Boolean,
  partial_reason: optString,
  dropped: Schema.optional(NmapDropped),
  /** Problems met while reading the report, and warnings the tool printed on stderr. */
  warnings: Schema.Array(Schema.String)
}).annotations({ title: "NmapRun", description: "Parsed nmap XML report" })
export type NmapRun = typeof NmapRun.Type
