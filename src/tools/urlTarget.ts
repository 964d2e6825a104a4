import { Either } from "effect"
import { TargetRejected } from "../errors.js"
import { parseTarget } from "../policy/targets.js"

/**
 * Targets of kind "url" (HttpProbeTool, TlsProbeTool): `host`, `host:port`
 * or `http(s)://host[:port][/path?query]`. The host is what the target policy
 * validates and pins; the tool then connects to the pinned address only, while
 * a host name still travels as the HTTP Host header and the TLS SNI name.
 *
 * The host is judged as written, by the same strict parser as every other
 * target, never after URL normalisation: a WHATWG URL parser would turn
 * `0x7f.1` into 127.0.0.1, `ex%61mple` into `example`, a full-width or
 * zero-width character or an IDN into punycode, and `\` into `/`, so a
 * target the policy refuses for nmap would pass here.
 */

export interface UrlTarget {
  readonly scheme: "http" | "https"
  /** The host as written, in canonical form (lower case, canonical address); IPv6 without brackets. */
  readonly host: string
  readonly port: number
  /** Path and query, starting with `/`, as the URL parser normalises them. */
  readonly path: string
}

const defaultPort = { http: 80, https: 443 } as const

const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//
const portText = /^[1-9][0-9]{0,4}$/

const refuse = (target: string, rule: string, message: string): Either.Either<never, TargetRejected> =>
  Either.left(new TargetRejected({ target, rule, message }))

/** Splits `host[:port]` or `[v6][:port]` as written; the host is not interpreted here. */
const splitAuthority = (authority: string): { readonly host: string; readonly port: string | undefined } | undefined => {
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]")
    const rest = authority.slice(close + 1)
    if (close < 0 || (rest !== "" && !rest.startsWith(":"))) return undefined
    return { host: authority.slice(1, close), port: rest === "" ? undefined : rest.slice(1) }
  }
  const colon = authority.indexOf(":")
  if (colon !== authority.lastIndexOf(":")) return undefined
  return colon < 0 ? { host: authority, port: undefined } : { host: authority.slice(0, colon), port: authority.slice(colon + 1) }
}

/**
 * Parses a url-kind target strictly: printable ASCII only, no backslash,
 * fragment or user-info, a decimal port 1-65535, and a host that
 * `parseTarget` accepts as one address or name exactly as written.
 */
export const checkUrlTarget = (
  original: string,
  defaultScheme: "http" | "https" = "http"
): Either.Either<UrlTarget, TargetRejected> => {
  if (!/^[\x21-\x7e]+$/.test(original)) {
    return refuse(original, "forbidden_character", "A URL target may contain only printable ASCII characters, without spaces")
  }
  if (/[\\#]/.test(original)) return refuse(original, "forbidden_character", "A URL target may not contain '\\' or a '#' fragment")
  const written = scheme.exec(original)
  const name = (written?.[1] ?? defaultScheme).toLowerCase()
  if (name !== "http" && name !== "https") return refuse(original, "url_not_allowed", `Only http and https URLs are accepted, not ${name}`)
  const rest = written === null ? original : original.slice(written[0].length)
  const end = rest.search(/[/?]/)
  const authority = end < 0 ? rest : rest.slice(0, end)
  const tail = end < 0 ? "/" : rest.slice(end)
  if (authority.includes("@")) return refuse(original, "url_not_allowed", "User-info (user@host) is not accepted in a URL target")
  const parts = splitAuthority(authority)
  if (parts === undefined || parts.host === "") return refuse(original, "invalid_url", `${original} is not http(s)://host[:port][/path]`)
  if (parts.port !== undefined && (!portText.test(parts.port) || Number(parts.port) > 65535)) {
    return refuse(original, "invalid_port", `'${parts.port}' is not a port: write a decimal number from 1 to 65535`)
  }
  return Either.flatMap(parseTarget(parts.host), (host) => {
    if (host.kind === "cidr") return refuse(original, "network_not_supported", "A URL target names one host, not a network")
    const port = parts.port === undefined ? defaultPort[name] : Number(parts.port)
    const url = `${name}://${bracketed(host.text)}:${port}${tail.startsWith("/") ? tail : `/${tail}`}`
    if (!URL.canParse(url)) return refuse(original, "invalid_url", `${original} is not http(s)://host[:port][/path]`)
    const parsed = new URL(url)
    if (parsed.hostname.replace(/^\[(.*)\]$/, "$1") !== host.text) {
      return refuse(original, "invalid_url", `${original}: the URL's host does not read the same to a URL parser`)
    }
    return Either.right({ scheme: name, host: host.text, port, path: `${parsed.pathname}${parsed.search}` })
  })
}

/** Parses a url-kind target; undefined for anything `checkUrlTarget` refuses. */
export const parseUrlTarget = (original: string, defaultScheme: "http" | "https" = "http"): UrlTarget | undefined =>
  Either.getOrUndefined(checkUrlTarget(original, defaultScheme))

/** The host part of a url-kind target, for the target policy to validate and resolve. */
export const urlTargetHost = (original: string): string | undefined => parseUrlTarget(original)?.host

/** The canonical form of a url-kind target, as it should be audited: `scheme://host:port/path?query`. */
export const canonicalUrlTarget = (target: UrlTarget): string => `${target.scheme}://${bracketed(target.host)}:${target.port}${target.path}`

/** An address as it appears in a URL authority or `host:port`: IPv6 in brackets. */
export const bracketed = (address: string): string => (address.includes(":") ? `[${address}]` : address)
