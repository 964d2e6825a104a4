/**
 * Targets of kind "url" (HttpProbeTool, TlsProbeTool): `host`, `host:port`
 * or `http(s)://host[:port][/path?query]`. The host is what the target policy
 * validates and pins; the tool then connects to the pinned address only, while
 * a host name still travels as the HTTP Host header and the TLS SNI name.
 */

export interface UrlTarget {
  readonly scheme: "http" | "https"
  /** As written, lower-cased; IPv6 literals without brackets. */
  readonly host: string
  readonly port: number
  /** Path and query, starting with `/`. */
  readonly path: string
}

const defaultPort = { http: 80, https: 443 } as const

/** Parses a url-kind target; undefined for other schemes, user-info or unparsable text. */
export const parseUrlTarget = (original: string, defaultScheme: "http" | "https" = "http"): UrlTarget | undefined => {
  const withScheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(original) ? original : `${defaultScheme}://${original}`
  if (!URL.canParse(withScheme)) return undefined
  const url = new URL(withScheme)
  const scheme = url.protocol === "http:" ? "http" : url.protocol === "https:" ? "https" : undefined
  if (scheme === undefined || url.username !== "" || url.password !== "" || url.hostname === "") return undefined
  return {
    scheme,
    host: url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase(),
    port: url.port === "" ? defaultPort[scheme] : Number(url.port),
    path: `${url.pathname}${url.search}`
  }
}

/** The host part of a url-kind target, for the target policy to validate and resolve. */
export const urlTargetHost = (original: string): string | undefined => parseUrlTarget(original)?.host

/** An address as it appears in a URL authority or `host:port`: IPv6 in brackets. */
export const bracketed = (address: string): string => (address.includes(":") ? `[${address}]` : address)
