import { Schema } from "effect"
import { addressFamily } from "../policy/targets.js"
import { readOnlyProbe } from "./specHelpers.js"
import { defaultResultLimits, parseWithStream } from "./stream.js"
import { clip, summaryBudget } from "./summary/budget.js"
import { fence } from "./summary/fence.js"
import type { ResultLimits, StreamEnd, StreamParser, SummaryOptions, ToolSpec } from "./ToolSpec.js"
import { bracketed, parseUrlTarget } from "./urlTarget.js"
import { attr, child, childrenNamed, childText, numAttr, type XmlElement, xmlStream } from "./xml.js"

/**
 * sslscan against the pinned address. The target is host, host:port or
 * https://host:port (port 443 by default); a host name is sent as the SNI name
 * while the connection goes to the validated address. File-reading options
 * (--targets, --pk, --certs) are not offered.
 */

export const TlsProbeResult = Schema.Struct({
  scanner_version: Schema.optional(Schema.String),
  host: Schema.optional(Schema.String),
  port: Schema.optional(Schema.Number),
  sni_name: Schema.optional(Schema.String),
  protocols: Schema.Array(Schema.Struct({ name: Schema.String, enabled: Schema.Boolean })),
  ciphers: Schema.Array(Schema.Struct({
    protocol: Schema.String,
    name: Schema.String,
    /** IANA code point, e.g. 0x1301. */
    id: Schema.optional(Schema.String),
    bits: Schema.optional(Schema.Number),
    /** `preferred` (the server's first choice for the protocol) or `accepted`. */
    status: Schema.String,
    strength: Schema.optional(Schema.String),
    key_exchange: Schema.optional(Schema.String)
  })),
  groups: Schema.Array(Schema.Struct({
    protocol: Schema.String,
    name: Schema.String,
    id: Schema.optional(Schema.String),
    bits: Schema.optional(Schema.Number)
  })),
  /** With --show-sigs: the signature algorithms the server accepts. */
  signature_algorithms: Schema.Array(Schema.Struct({ protocol: Schema.String, name: Schema.String, id: Schema.optional(Schema.String) })),
  renegotiation: Schema.optional(Schema.Struct({ supported: Schema.Boolean, secure: Schema.Boolean })),
  compression: Schema.optional(Schema.Boolean),
  fallback_scsv: Schema.optional(Schema.Boolean),
  heartbleed: Schema.Array(Schema.Struct({ protocol: Schema.String, vulnerable: Schema.Boolean })),
  certificates: Schema.Array(Schema.Struct({
    /** `short`, or `full` with --show-certificate. */
    type: Schema.optional(Schema.String),
    subject: Schema.optional(Schema.String),
    issuer: Schema.optional(Schema.String),
    alt_names: Schema.optional(Schema.String),
    signature_algorithm: Schema.optional(Schema.String),
    key: Schema.optional(Schema.Struct({ type: Schema.String, bits: Schema.optional(Schema.Number) })),
    self_signed: Schema.optional(Schema.Boolean),
    not_before: Schema.optional(Schema.String),
    not_after: Schema.optional(Schema.String),
    expired: Schema.optional(Schema.Boolean)
  })),
  /** sslscan's errors, and problems met reading its report. */
  errors: Schema.Array(Schema.String),
  /** The report was read to its end. */
  complete: Schema.Boolean,
  /** The run ended before sslscan finished, or the report was cut: the result holds what was read. */
  partial: Schema.Boolean,
  partial_reason: Schema.optional(Schema.String)
}).annotations({ title: "TlsProbeResult" })
export type TlsProbeResult = typeof TlsProbeResult.Type

const flag = (value: string | undefined): boolean => value === "1" || value === "true"
const optFlag = (value: string | undefined): boolean | undefined => (value === undefined ? undefined : flag(value))

type Lists<T> = { -readonly [K in keyof T]: T[K] extends ReadonlyArray<infer E> ? Array<E> : T[K] }

const cipher = (c: XmlElement): TlsProbeResult["ciphers"][number] => {
  const curve = attr(c, "curve")
  const dhe = attr(c, "dhebits")
  return {
    protocol: attr(c, "sslversion") ?? "",
    name: attr(c, "cipher") ?? "",
    id: attr(c, "id"),
    bits: numAttr(c, "bits"),
    status: attr(c, "status") ?? "",
    strength: attr(c, "strength"),
    key_exchange: curve !== undefined ? `${curve} ${attr(c, "ecdhebits") ?? "?"} bits` : dhe !== undefined ? `DHE ${dhe} bits` : undefined
  }
}

const certificate = (c: XmlElement): TlsProbeResult["certificates"][number] => {
  const pk = child(c, "pk")
  return {
    type: attr(c, "type"),
    subject: childText(c, "subject"),
    issuer: childText(c, "issuer"),
    alt_names: childText(c, "altnames"),
    signature_algorithm: childText(c, "signature-algorithm"),
    key: pk === undefined ? undefined : { type: attr(pk, "type") ?? "", bits: numAttr(pk, "bits") },
    self_signed: optFlag(childText(c, "self-signed")),
    not_before: childText(c, "not-valid-before"),
    not_after: childText(c, "not-valid-after"),
    expired: optFlag(childText(c, "expired"))
  }
}

/** One child element of `<ssltest>` into the result. */
const readTest = (r: Lists<TlsProbeResult>, e: XmlElement): void => {
  switch (e.name) {
    case "protocol":
      return void r.protocols.push({
        name: `${attr(e, "type") === "ssl" ? "SSLv" : "TLSv"}${attr(e, "version") ?? "?"}`,
        enabled: flag(attr(e, "enabled"))
      })
    case "cipher":
      return void r.ciphers.push(cipher(e))
    case "group":
      return void r.groups.push({
        protocol: attr(e, "sslversion") ?? "",
        name: attr(e, "name") ?? "",
        id: attr(e, "id"),
        bits: numAttr(e, "bits")
      })
    case "connection-signature-algorithm":
      return void r.signature_algorithms.push({ protocol: attr(e, "sslversion") ?? "", name: attr(e, "name") ?? "", id: attr(e, "id") })
    case "renegotiation":
      return void (r.renegotiation = { supported: flag(attr(e, "supported")), secure: flag(attr(e, "secure")) })
    case "compression":
      return void (r.compression = optFlag(attr(e, "supported")))
    case "fallback":
      return void (r.fallback_scsv = optFlag(attr(e, "supported")))
    case "heartbleed":
      return void r.heartbleed.push({ protocol: attr(e, "sslversion") ?? "", vulnerable: flag(attr(e, "vulnerable")) })
    case "certificates":
      return void r.certificates.push(...childrenNamed(e, "certificate").map(certificate))
    case "error":
      return void (e.text.trim() !== "" && r.errors.push(e.text.trim()))
  }
}

/** sslscan's `--xml=-` report read as it streams; the whole report is small, one `<ssltest>`. */
export const sslscanStream = (limits: ResultLimits) => {
  const r: Lists<TlsProbeResult> = {
    protocols: [],
    ciphers: [],
    groups: [],
    signature_algorithms: [],
    heartbleed: [],
    certificates: [],
    errors: [],
    complete: false,
    partial: false
  }
  const xml = xmlStream({
    collect: (name, depth) => depth === 1 && (name === "ssltest" || name === "error"),
    onElement: ({ element }) => {
      if (element.name === "error") return readTest(r, element)
      r.host = attr(element, "host")
      r.port = numAttr(element, "port")
      r.sni_name = attr(element, "sniname")
      for (const e of element.children) readTest(r, e)
    },
    onOpen: (name, attributes, depth) => {
      if (depth === 0 && name === "document") r.scanner_version = attributes["version"]
    },
    maxElementChars: limits.maxBytes
  })
  return {
    feed: xml.write,
    finish: (end: StreamEnd): TlsProbeResult => {
      const read = xml.end()
      const partial = end.partial || !read.rootClosed
      const reason = end.reason ??
        (!read.sawRoot ? "no report in the output" : !read.rootClosed ? "the report ended before </document>" : undefined)
      return {
        ...r,
        errors: [...r.errors, ...read.warnings],
        complete: !partial,
        partial,
        ...(partial && reason !== undefined ? { partial_reason: reason } : {})
      }
    }
  }
}

export const parseSslscanXml = (stdout: string, limits: ResultLimits = defaultResultLimits): TlsProbeResult => {
  const stream = sslscanStream(limits)
  stream.feed(stdout)
  return stream.finish({ partial: false })
}

/** Longest certificate name or error shown, in characters; longest cipher list line, in tokens. */
const CERT_CHARS = 200
const CIPHER_LINE_TOKENS = 300

const weakStrengths: ReadonlySet<string> = new Set(["weak", "medium", "null", "anonymous"])

const cipherLines = (r: TlsProbeResult): ReadonlyArray<string> => {
  const byProtocol = new Map<string, Array<string>>()
  for (const c of r.ciphers) {
    const list = byProtocol.get(c.protocol) ?? []
    const marks = [c.status === "preferred" ? "preferred" : "", c.strength !== undefined && weakStrengths.has(c.strength) ? c.strength : ""]
      .filter((m) => m !== "")
    list.push(`${c.name}${marks.length > 0 ? ` (${marks.join(", ")})` : ""}`)
    byProtocol.set(c.protocol, list)
  }
  return [...byProtocol].map(([protocol, list]) => `${protocol} ciphers: ${list.join(", ")}`)
}

const checkLines = (r: TlsProbeResult): ReadonlyArray<string> => {
  const lines: Array<string> = []
  const weak = r.ciphers.filter((c) => c.strength !== undefined && weakStrengths.has(c.strength))
  if (weak.length > 0) lines.push(`weak ciphers: ${weak.length}`)
  if (r.renegotiation !== undefined) {
    lines.push(`renegotiation: ${r.renegotiation.supported ? (r.renegotiation.secure ? "secure" : "INSECURE") : "not supported"}`)
  }
  if (r.compression !== undefined) lines.push(`compression: ${r.compression ? "ENABLED (CRIME)" : "disabled"}`)
  if (r.fallback_scsv !== undefined) lines.push(`fallback SCSV: ${r.fallback_scsv ? "supported" : "not supported"}`)
  const bleeding = r.heartbleed.filter((h) => h.vulnerable).map((h) => h.protocol)
  if (r.heartbleed.length > 0) lines.push(`heartbleed: ${bleeding.length > 0 ? `VULNERABLE (${bleeding.join(", ")})` : "not vulnerable"}`)
  return lines
}

/** Names in a certificate are the server's choice: fenced. */
const certificateLine = (c: TlsProbeResult["certificates"][number]): string => {
  const facts = [
    c.subject !== undefined ? `subject ${fence(c.subject, CERT_CHARS)}` : "",
    c.alt_names !== undefined ? `alt ${fence(c.alt_names, CERT_CHARS)}` : "",
    c.issuer !== undefined ? (c.self_signed === true ? "self-signed" : `issuer ${fence(c.issuer, CERT_CHARS)}`) : "",
    c.key !== undefined ? `${c.key.type} ${c.key.bits ?? "?"} bits` : "",
    c.signature_algorithm ?? "",
    c.not_before !== undefined || c.not_after !== undefined ? `valid ${c.not_before ?? "?"} to ${c.not_after ?? "?"}` : "",
    c.expired === true ? "EXPIRED" : ""
  ].filter((f) => f !== "")
  return `certificate: ${facts.join(", ")}`
}

export const summarizeTlsProbe = (r: TlsProbeResult, options: SummaryOptions = { tokens: defaultResultLimits.summaryTokens }): string => {
  const budget = summaryBudget(options.tokens)
  if (r.host !== undefined) budget.must(`${r.host}:${r.port ?? "?"}${r.sni_name !== undefined ? ` (SNI ${r.sni_name})` : ""}`)
  if (r.partial) budget.must(`PARTIAL: ${r.partial_reason ?? "the report was cut short"}`)
  if (r.protocols.length > 0) {
    const on = r.protocols.filter((p) => p.enabled).map((p) => p.name)
    budget.must(`protocols enabled: ${on.length > 0 ? on.join(", ") : "none"}`)
  }
  for (const line of checkLines(r)) budget.offer(line, "checks")
  for (const c of r.certificates) budget.offer(certificateLine(c), "certificates")
  for (const line of cipherLines(r)) budget.offer(clip(line, CIPHER_LINE_TOKENS), "cipher lists")
  for (const e of r.errors.slice(0, 5)) budget.offer(`error: ${fence(e, CERT_CHARS)}`, "errors")
  budget.omit("errors", r.errors.length - 5)
  return budget.text(options.resource)
}

const tlsStream = (limits: ResultLimits): StreamParser<TlsProbeResult> => {
  const stream = sslscanStream(limits)
  return {
    feed: stream.feed,
    progress: () => ({ hostsSeen: 0, hostsUp: 0, openPorts: 0 }),
    finish: (end) => {
      const data = stream.finish(end)
      const resource = end.resource === undefined ? {} : { resource: end.resource }
      return { data, summary: summarizeTlsProbe(data, { tokens: limits.summaryTokens, ...resource }) }
    }
  }
}

/** `--sni-name=<name>` for a host name, then the pinned `address:port`. */
export const tlsTargetArgs = (pinned: string, original: string): ReadonlyArray<string> => {
  const t = parseUrlTarget(original, "https")
  const port = t?.port ?? 443
  const sni = t !== undefined && addressFamily(t.host) === undefined ? [`--sni-name=${t.host}`] : []
  return [...sni, `${bracketed(pinned)}:${port}`]
}

export const tlsProbeSpec: ToolSpec<TlsProbeResult> = {
  name: "TlsProbeTool",
  title: "TLS/SSL scan (sslscan)",
  description: "Lists the TLS/SSL protocol versions and cipher suites a server accepts, key exchange groups, renegotiation, compression, " +
    "Heartbleed and the certificate (subject, issuer, validity). Target: host, host:port or https://host:port (default port 443).",
  binary: "sslscan",
  versionArgs: ["--version"],
  flags: [
    { name: "--show-certificate", value: { _tag: "None" }, description: "Full certificate details" },
    { name: "--show-sigs", value: { _tag: "None" }, description: "Enumerate signature algorithms" },
    { name: "--show-times", value: { _tag: "None" }, description: "Handshake times" },
    { name: "--no-ciphersuites", value: { _tag: "None" }, description: "Skip cipher suite enumeration" },
    { name: "--no-groups", value: { _tag: "None" }, description: "Skip key exchange group enumeration" },
    { name: "--no-heartbleed", value: { _tag: "None" }, description: "Skip the Heartbleed check" },
    { name: "--no-renegotiation", value: { _tag: "None" }, description: "Skip the renegotiation check" },
    { name: "--no-compression", value: { _tag: "None" }, description: "Skip the compression check" },
    { name: "--no-fallback", value: { _tag: "None" }, description: "Skip the fallback SCSV check" },
    ...["--ssl2", "--ssl3", "--tls10", "--tls11", "--tls12", "--tls13", "--tlsall"].map((name) => ({
      name,
      value: { _tag: "None" as const },
      description: `Only check ${name.slice(2)}`
    })),
    ...["ftp", "imap", "irc", "ldap", "mysql", "pop3", "psql", "smtp", "xmpp"].map((proto) => ({
      name: `--starttls-${proto}`,
      value: { _tag: "None" as const },
      description: `STARTTLS for ${proto}`
    })),
    { name: "--rdp", value: { _tag: "None" }, description: "Send the RDP preamble first" },
    { name: "--bugs", value: { _tag: "None" }, description: "Enable SSL bug work-arounds" }
  ],
  templates: [{
    name: "quick",
    description: "Protocols and certificate only, no cipher enumeration",
    args: ["--no-ciphersuites", "--no-groups"]
  }],
  fixedArgs: ["--no-colour", "--xml=-", "--timeout=5"],
  target: { kind: "url", toArgs: tlsTargetArgs },
  intrusive: false,
  defaultTimeoutSeconds: 120,
  defaultConcurrency: 2,
  okExitCodes: [],
  annotations: readOnlyProbe,
  outputSchema: TlsProbeResult,
  parse: parseWithStream(tlsStream),
  stream: tlsStream,
  summarize: summarizeTlsProbe
}
