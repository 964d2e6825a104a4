import { Schema } from "effect"
import { addressFamily } from "../policy/targets.js"
import { parsedWith, readOnlyProbe } from "./specHelpers.js"
import type { ToolSpec } from "./ToolSpec.js"
import { bracketed, parseUrlTarget } from "./urlTarget.js"
import { attr, node, nodes, numAttr, parseUntrustedXml, text, type XmlNode } from "./xml.js"

/**
 * sslscan against the pinned address. The target is host, host:port or
 * https://host:port (port 443 by default); a host name is sent as the SNI name
 * while the connection goes to the validated address. File-reading options
 * (--targets, --pk, --certs) are not offered.
 */

export const TlsProbeResult = Schema.Struct({
  host: Schema.optional(Schema.String),
  port: Schema.optional(Schema.Number),
  sni_name: Schema.optional(Schema.String),
  protocols: Schema.Array(Schema.Struct({ name: Schema.String, enabled: Schema.Boolean })),
  ciphers: Schema.Array(Schema.Struct({
    protocol: Schema.String,
    name: Schema.String,
    bits: Schema.optional(Schema.Number),
    /** `preferred` (the server's first choice for the protocol) or `accepted`. */
    status: Schema.String,
    strength: Schema.optional(Schema.String),
    key_exchange: Schema.optional(Schema.String)
  })),
  groups: Schema.Array(Schema.Struct({ protocol: Schema.String, name: Schema.String, bits: Schema.optional(Schema.Number) })),
  renegotiation: Schema.optional(Schema.Struct({ supported: Schema.Boolean, secure: Schema.Boolean })),
  compression: Schema.optional(Schema.Boolean),
  fallback_scsv: Schema.optional(Schema.Boolean),
  heartbleed: Schema.Array(Schema.Struct({ protocol: Schema.String, vulnerable: Schema.Boolean })),
  certificates: Schema.Array(Schema.Struct({
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
  errors: Schema.Array(Schema.String),
  complete: Schema.Boolean
}).annotations({ title: "TlsProbeResult" })
export type TlsProbeResult = typeof TlsProbeResult.Type

const repeated: ReadonlySet<string> = new Set(["ssltest", "protocol", "cipher", "group", "heartbleed", "certificate", "error"])

const flag = (value: string | undefined): boolean => value === "1" || value === "true"
const optFlag = (value: string | undefined): boolean | undefined => (value === undefined ? undefined : flag(value))
const childText = (n: XmlNode, name: string): string | undefined => text(n[name])?.trim()

export const parseSslscanXml = (stdout: string): TlsProbeResult => {
  const doc = parseUntrustedXml(stdout, "</document>", repeated)
  const root = node(doc.root["document"])
  const test = nodes(root["ssltest"])[0] ?? {}
  const reneg = test["renegotiation"] === undefined ? undefined : node(test["renegotiation"])
  const compression = test["compression"] === undefined ? undefined : node(test["compression"])
  const fallback = test["fallback"] === undefined ? undefined : node(test["fallback"])
  const errors = [...nodes(root["error"]), ...nodes(test["error"])].map((e) => text(e)?.trim() ?? "").filter((e) => e !== "")
  return {
    host: attr(test, "host"),
    port: numAttr(test, "port"),
    sni_name: attr(test, "sniname"),
    protocols: nodes(test["protocol"]).map((p) => ({
      name: `${attr(p, "type") === "ssl" ? "SSLv" : "TLSv"}${attr(p, "version") ?? "?"}`,
      enabled: flag(attr(p, "enabled"))
    })),
    ciphers: nodes(test["cipher"]).map((c) => {
      const curve = attr(c, "curve")
      const dhe = attr(c, "dhebits")
      return {
        protocol: attr(c, "sslversion") ?? "",
        name: attr(c, "cipher") ?? "",
        bits: numAttr(c, "bits"),
        status: attr(c, "status") ?? "",
        strength: attr(c, "strength"),
        key_exchange: curve !== undefined
          ? `${curve} ${attr(c, "ecdhebits") ?? "?"} bits`
          : dhe !== undefined
          ? `DHE ${dhe} bits`
          : undefined
      }
    }),
    groups: nodes(test["group"]).map((g) => ({
      protocol: attr(g, "sslversion") ?? "",
      name: attr(g, "name") ?? "",
      bits: numAttr(g, "bits")
    })),
    renegotiation: reneg === undefined ? undefined : { supported: flag(attr(reneg, "supported")), secure: flag(attr(reneg, "secure")) },
    compression: compression === undefined ? undefined : optFlag(attr(compression, "supported")),
    fallback_scsv: fallback === undefined ? undefined : optFlag(attr(fallback, "supported")),
    heartbleed: nodes(test["heartbleed"]).map((h) => ({ protocol: attr(h, "sslversion") ?? "", vulnerable: flag(attr(h, "vulnerable")) })),
    certificates: nodes(node(test["certificates"])["certificate"]).map((c) => {
      const pk = c["pk"] === undefined ? undefined : node(c["pk"])
      const selfSigned = childText(c, "self-signed")
      const expired = childText(c, "expired")
      return {
        subject: childText(c, "subject"),
        issuer: childText(c, "issuer"),
        alt_names: childText(c, "altnames"),
        signature_algorithm: childText(c, "signature-algorithm"),
        key: pk === undefined ? undefined : { type: attr(pk, "type") ?? "", bits: numAttr(pk, "bits") },
        self_signed: optFlag(selfSigned),
        not_before: childText(c, "not-valid-before"),
        not_after: childText(c, "not-valid-after"),
        expired: optFlag(expired)
      }
    }),
    errors,
    complete: doc.complete
  }
}

export const summarizeTlsProbe = (r: TlsProbeResult): string => {
  const lines: Array<string> = []
  if (r.host !== undefined) lines.push(`${r.host}:${r.port ?? "?"}${r.sni_name !== undefined ? ` (SNI ${r.sni_name})` : ""}`)
  if (r.protocols.length > 0) {
    const on = r.protocols.filter((p) => p.enabled).map((p) => p.name)
    lines.push(`protocols enabled: ${on.length > 0 ? on.join(", ") : "none"}`)
  }
  const byProtocol = new Map<string, Array<string>>()
  for (const c of r.ciphers) {
    const list = byProtocol.get(c.protocol) ?? []
    const marks = [
      c.status === "preferred" ? "preferred" : "",
      c.strength !== undefined && c.strength !== "strong" && c.strength !== "acceptable" ? c.strength : ""
    ]
      .filter((m) => m !== "")
    list.push(`${c.name}${marks.length > 0 ? ` (${marks.join(", ")})` : ""}`)
    byProtocol.set(c.protocol, list)
  }
  for (const [protocol, list] of byProtocol) lines.push(`${protocol} ciphers: ${list.join(", ")}`)
  const weak = r.ciphers.filter((c) =>
    c.strength === "weak" || c.strength === "medium" || c.strength === "null" || c.strength === "anonymous"
  )
  if (weak.length > 0) lines.push(`weak ciphers: ${weak.length}`)
  if (r.renegotiation !== undefined) {
    lines.push(`renegotiation: ${r.renegotiation.supported ? (r.renegotiation.secure ? "secure" : "INSECURE") : "not supported"}`)
  }
  if (r.compression !== undefined) lines.push(`compression: ${r.compression ? "ENABLED (CRIME)" : "disabled"}`)
  if (r.fallback_scsv !== undefined) lines.push(`fallback SCSV: ${r.fallback_scsv ? "supported" : "not supported"}`)
  const bleeding = r.heartbleed.filter((h) => h.vulnerable).map((h) => h.protocol)
  if (r.heartbleed.length > 0) lines.push(`heartbleed: ${bleeding.length > 0 ? `VULNERABLE (${bleeding.join(", ")})` : "not vulnerable"}`)
  for (const c of r.certificates) {
    const facts = [
      c.subject !== undefined ? `subject ${c.subject}` : "",
      c.alt_names !== undefined ? `alt ${c.alt_names}` : "",
      c.issuer !== undefined ? (c.self_signed === true ? "self-signed" : `issuer ${c.issuer}`) : "",
      c.key !== undefined ? `${c.key.type} ${c.key.bits ?? "?"} bits` : "",
      c.signature_algorithm ?? "",
      c.not_before !== undefined || c.not_after !== undefined ? `valid ${c.not_before ?? "?"} to ${c.not_after ?? "?"}` : "",
      c.expired === true ? "EXPIRED" : ""
    ].filter((f) => f !== "")
    lines.push(`certificate: ${facts.join(", ")}`)
  }
  for (const e of r.errors) lines.push(`error: ${e}`)
  if (!r.complete) lines.push("PARTIAL: the report was cut short")
  return lines.join("\n")
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
  parse: parsedWith(parseSslscanXml, summarizeTlsProbe)
}
