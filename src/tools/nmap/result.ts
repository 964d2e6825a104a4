import { Schema } from "effect"

/**
 * The typed form of an nmap `-oX` report (also produced by masscan's `-oX`).
 * Field names follow nmap's own XML names so readers of nmap docs recognise them.
 */

export const NmapScript = Schema.Struct({
  id: Schema.String,
  output: Schema.String
})
export type NmapScript = typeof NmapScript.Type

export const NmapService = Schema.Struct({
  name: Schema.String,
  product: Schema.optional(Schema.String),
  version: Schema.optional(Schema.String),
  extrainfo: Schema.optional(Schema.String),
  tunnel: Schema.optional(Schema.String),
  ostype: Schema.optional(Schema.String),
  /** `table` = guessed from the port number, `probed` = confirmed by version detection. */
  method: Schema.optional(Schema.String),
  conf: Schema.optional(Schema.Number),
  banner: Schema.optional(Schema.String),
  cpe: Schema.Array(Schema.String)
})
export type NmapService = typeof NmapService.Type

export const NmapPort = Schema.Struct({
  protocol: Schema.String,
  portid: Schema.Number,
  state: Schema.String,
  reason: Schema.String,
  reason_ttl: Schema.optional(Schema.Number),
  service: Schema.optional(NmapService),
  scripts: Schema.Array(NmapScript)
})
export type NmapPort = typeof NmapPort.Type

/** Ports nmap folded into one line, e.g. "998 closed (reset)". */
export const NmapExtraPorts = Schema.Struct({
  state: Schema.String,
  count: Schema.Number,
  reasons: Schema.Array(Schema.Struct({ reason: Schema.String, count: Schema.Number, protocol: Schema.optional(Schema.String) }))
})
export type NmapExtraPorts = typeof NmapExtraPorts.Type

export const NmapOsMatch = Schema.Struct({
  name: Schema.String,
  accuracy: Schema.Number,
  cpe: Schema.Array(Schema.String)
})
export type NmapOsMatch = typeof NmapOsMatch.Type

export const NmapHost = Schema.Struct({
  status: Schema.Struct({ state: Schema.String, reason: Schema.String }),
  addresses: Schema.Array(Schema.Struct({ addr: Schema.String, addrtype: Schema.String, vendor: Schema.optional(Schema.String) })),
  hostnames: Schema.Array(Schema.Struct({ name: Schema.String, type: Schema.String })),
  ports: Schema.Array(NmapPort),
  extraports: Schema.Array(NmapExtraPorts),
  hostscripts: Schema.Array(NmapScript),
  os: Schema.Array(NmapOsMatch),
  uptime: Schema.optional(Schema.Struct({ seconds: Schema.Number, lastboot: Schema.optional(Schema.String) })),
  distance: Schema.optional(Schema.Number),
  starttime: Schema.optional(Schema.Number),
  endtime: Schema.optional(Schema.Number)
})
export type NmapHost = typeof NmapHost.Type

const NmapRunStats = Schema.Struct({
  finished: Schema.optional(Schema.Struct({
    time: Schema.optional(Schema.Number),
    timestr: Schema.optional(Schema.String),
    elapsed: Schema.optional(Schema.Number),
    summary: Schema.optional(Schema.String),
    exit: Schema.optional(Schema.String),
    errormsg: Schema.optional(Schema.String)
  })),
  hosts: Schema.optional(Schema.Struct({ up: Schema.Number, down: Schema.Number, total: Schema.Number }))
})

export const NmapRun = Schema.Struct({
  scanner: Schema.Struct({
    name: Schema.String,
    version: Schema.optional(Schema.String),
    args: Schema.optional(Schema.String),
    start: Schema.optional(Schema.Number),
    startstr: Schema.optional(Schema.String)
  }),
  scaninfo: Schema.Array(Schema.Struct({
    type: Schema.String,
    protocol: Schema.String,
    numservices: Schema.optional(Schema.Number),
    services: Schema.optional(Schema.String)
  })),
  hosts: Schema.Array(NmapHost),
  runstats: Schema.optional(NmapRunStats),
  /** False when the report was cut short (output cap, timeout, kill): `hosts` holds what was written before. */
  complete: Schema.Boolean,
  /** Problems met while reading the report, and warnings nmap printed on stderr. */
  warnings: Schema.Array(Schema.String)
}).annotations({ title: "NmapRun", description: "Parsed nmap XML report" })
export type NmapRun = typeof NmapRun.Type
