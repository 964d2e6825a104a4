import { Schema } from "effect"
import { readOnlyProbe } from "./specHelpers.js"
import { bufferedStream, defaultResultLimits, parseWithStream } from "./stream.js"
import { summaryBudget } from "./summary/budget.js"
import { fence } from "./summary/fence.js"
import type { SummaryOptions, ToolSpec } from "./ToolSpec.js"

/**
 * DigTool asks one DNS server, and that server is the target: it goes through
 * the same allow-list as any scanned host (`@<pinned IP>`). The name being
 * looked up is data, passed with `-q`, so looking up any name never sends a
 * packet anywhere but the allowed server. No batch (-f), key (-k, -y) or
 * source-address (-b) options, and `-r` keeps a ~/.digrc out of the picture.
 */

const DnsRecord = Schema.Struct({
  name: Schema.String,
  ttl: Schema.Number,
  class: Schema.String,
  type: Schema.String,
  data: Schema.String
})
type DnsRecord = typeof DnsRecord.Type

export const DigResult = Schema.Struct({
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED…; absent when no answer arrived. */
  status: Schema.optional(Schema.String),
  flags: Schema.Array(Schema.String),
  answer: Schema.Array(DnsRecord),
  authority: Schema.Array(DnsRecord),
  additional: Schema.Array(DnsRecord),
  query_time_ms: Schema.optional(Schema.Number),
  server: Schema.optional(Schema.String),
  message_size: Schema.optional(Schema.Number),
  /** dig's own complaints, e.g. "communications error … timed out", "no servers could be reached". */
  errors: Schema.Array(Schema.String)
}).annotations({ title: "DigResult" })
export type DigResult = typeof DigResult.Type

const hostnamePattern = /^(?=.{1,254}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62}))*\.?$/
const addressPattern = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]{2,39})$/

const recordTypes = [
  "A",
  "AAAA",
  "ANY",
  "CAA",
  "CNAME",
  "DNSKEY",
  "DS",
  "HINFO",
  "MX",
  "NAPTR",
  "NS",
  "PTR",
  "SOA",
  "SRV",
  "SSHFP",
  "TLSA",
  "TXT",
  "AXFR",
  "IXFR"
]

const parseRecord = (line: string): DnsRecord | undefined => {
  const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line)
  return m === null ? undefined : { name: m[1] ?? "", ttl: Number(m[2]), class: m[3] ?? "", type: m[4] ?? "", data: (m[5] ?? "").trim() }
}

type Section = "answer" | "authority" | "additional" | undefined

export const parseDig = (stdout: string): DigResult => {
  const sections: { answer: Array<DnsRecord>; authority: Array<DnsRecord>; additional: Array<DnsRecord> } = {
    answer: [],
    authority: [],
    additional: []
  }
  const errors: Array<string> = []
  let section: Section
  let status: string | undefined
  let flags: ReadonlyArray<string> = []
  let queryTime: number | undefined
  let server: string | undefined
  let size: number | undefined
  for (const raw of stdout.split("\n")) {
    const line = raw.trim()
    if (line === "") {
      section = undefined
      continue
    }
    const header = /status: ([A-Z]+)/.exec(line)
    const flagLine = /^;; flags: ([^;]*);/.exec(line)
    const sectionLine = /^;; (ANSWER|AUTHORITY|ADDITIONAL) SECTION:/.exec(line)
    if (line.startsWith(";; ->>HEADER<<-") && header !== null) status = header[1]
    else if (flagLine !== null) flags = (flagLine[1] ?? "").trim().split(/\s+/).filter((f) => f !== "")
    else if (sectionLine !== null) section = sectionLine[1]?.toLowerCase() as Section
    else if (line.startsWith(";; Query time:")) queryTime = Number(/(\d+) msec/.exec(line)?.[1])
    else if (line.startsWith(";; SERVER:")) server = line.slice(";; SERVER:".length).trim()
    else if (line.startsWith(";; MSG SIZE")) size = Number(/rcvd: (\d+)/.exec(line)?.[1])
    else if (/^;; (communications error|connection timed out|no servers could be reached)|^;; .*(refused|failed|unreachable)/i.test(line)) {
      errors.push(line.slice(3))
    } else if (!line.startsWith(";") && section !== undefined) {
      const record = parseRecord(line)
      if (record !== undefined) sections[section].push(record)
    }
  }
  return {
    status,
    flags,
    ...sections,
    query_time_ms: Number.isFinite(queryTime) ? queryTime : undefined,
    server,
    message_size: Number.isFinite(size) ? size : undefined,
    errors
  }
}

/** Names and data in records are the server's choice (TXT above all): fenced. */
const recordText = (r: DnsRecord): string => fence(`${r.name} ${r.ttl} ${r.class} ${r.type} ${r.data}`, RECORD_CHARS)
const RECORD_CHARS = 300

export const summarizeDig = (r: DigResult, options: SummaryOptions = { tokens: defaultResultLimits.summaryTokens }): string => {
  const head = r.status === undefined
    ? `no answer${r.server !== undefined ? ` from ${r.server}` : ""}`
    : `${r.status} [${r.flags.join(" ")}]${r.server !== undefined ? ` from ${r.server}` : ""}${
      r.query_time_ms !== undefined ? ` in ${r.query_time_ms} ms` : ""
    }`
  const budget = summaryBudget(options.tokens)
  budget.must(head)
  for (const e of r.errors) budget.offer(e, "errors")
  for (const x of r.answer) budget.offer(`answer: ${recordText(x)}`, "answer records")
  for (const x of r.authority) budget.offer(`authority: ${recordText(x)}`, "authority records")
  for (const x of r.additional) budget.offer(`additional: ${recordText(x)}`, "additional records")
  return budget.text(options.resource)
}

const digStream = bufferedStream((stdout) => parseDig(stdout), summarizeDig)

export const digSpec: ToolSpec<DigResult> = {
  name: "DigTool",
  title: "DNS lookup (dig)",
  description:
    "Queries one DNS server (the target: an allowed IP or host) for a name given with -q and a record type with -t, or a reverse lookup with -x. " +
    "Example: target 10.0.0.53, args [\"-q\", \"web.lab.internal\", \"-t\", \"A\"]. Zone transfers (AXFR/IXFR) are intrusive.",
  binary: "dig",
  versionArgs: ["-v"],
  flags: [
    { name: "-q", value: { _tag: "Pattern", pattern: hostnamePattern, description: "a DNS name" }, description: "Name to look up" },
    { name: "-t", value: { _tag: "Enum", values: recordTypes }, description: "Record type", intrusiveValues: ["AXFR", "IXFR"] },
    {
      name: "-x",
      value: { _tag: "Pattern", pattern: addressPattern, description: "an IPv4 or IPv6 address" },
      description: "Reverse lookup of an address"
    },
    { name: "-c", value: { _tag: "Enum", values: ["IN", "CH"] }, description: "Query class (CH for version.bind and the like)" },
    { name: "-p", value: { _tag: "Int", min: 1, max: 65535 }, description: "Server port" }
  ],
  templates: [],
  fixedArgs: ["-r", "+nocmd", "+noall", "+comments", "+answer", "+authority", "+additional", "+stats", "+time=3", "+tries=2"],
  // dig applies @server only to the lookups after it: placed last, earlier -q/-x would go to the host's own resolver.
  target: { kind: "host", toArgs: (pinned) => [`@${pinned}`], position: "first" },
  intrusive: false,
  defaultTimeoutSeconds: 30,
  defaultConcurrency: 5,
  okExitCodes: [],
  annotations: readOnlyProbe,
  outputSchema: DigResult,
  parse: parseWithStream(digStream),
  stream: digStream,
  summarize: summarizeDig
}
