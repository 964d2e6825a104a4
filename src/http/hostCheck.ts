import { Either } from "effect"
import type { AppConfig } from "../config/schema.js"
import { Forbidden } from "../errors.js"

/**
 * DNS-rebinding protection: a page on an attacker's domain that resolves to
 * 127.0.0.1 reaches us with its own name in Host and its own Origin. Only
 * names we are known by are accepted.
 */

interface HostPort {
  readonly hostname: string
  readonly port: number | undefined
}

const parseHost = (value: string): HostPort | undefined => {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(value.trim())
  if (match === null || match[1] === undefined) return undefined
  return { hostname: match[1].toLowerCase(), port: match[2] === undefined ? undefined : Number(match[2]) }
}

const bracketed = (host: string) => (host.includes(":") && !host.startsWith("[") ? `[${host}]` : host.toLowerCase())

const WILDCARD_BINDS = new Set(["0.0.0.0", "::", "[::]"])

/** Accepted Host values: `server.allowed_hosts`, or the bind host and the loopback names, each on the bound port. */
export const allowedHosts = (config: AppConfig, port: number): ReadonlyArray<string> => {
  if (config.server.allowed_hosts.length > 0) return config.server.allowed_hosts
  const names = ["localhost", "127.0.0.1", "[::1]"]
  const bind = bracketed(config.server.host)
  if (!WILDCARD_BINDS.has(bind) && !names.includes(bind)) names.push(bind)
  return names.map((name) => `${name}:${port}`)
}

/** An entry without a port accepts that name on any port; Host without a port means port 80. */
export const isHostAllowed = (allowed: ReadonlyArray<string>, host: string): boolean => matchesHost(allowed.map(parseHost), host)

const matchesHost = (allowed: ReadonlyArray<HostPort | undefined>, host: string): boolean => {
  const actual = parseHost(host)
  if (actual === undefined) return false
  return allowed.some((expected) => {
    if (expected === undefined || expected.hostname !== actual.hostname) return false
    return expected.port === undefined || expected.port === (actual.port ?? 80)
  })
}

interface Accepted {
  readonly port: number
  readonly hosts: ReadonlyArray<string>
  readonly parsed: ReadonlyArray<HostPort | undefined>
}

/** The accepted hosts of a configuration, parsed once per configuration and port: every request is checked against them. */
const acceptedOf = new WeakMap<AppConfig, Accepted>()
const accepted = (config: AppConfig, port: number): Accepted => {
  const known = acceptedOf.get(config)
  if (known !== undefined && known.port === port) return known
  const hosts = allowedHosts(config, port)
  const made = { port, hosts, parsed: hosts.map(parseHost) }
  acceptedOf.set(config, made)
  return made
}

/** With `server.allowed_origins` empty, an Origin is accepted when its host:port is an accepted Host. */
export const isOriginAllowed = (config: AppConfig, hosts: ReadonlyArray<string>, origin: string): boolean => {
  if (config.server.allowed_origins.length > 0) return config.server.allowed_origins.includes(origin)
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return false
  const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port)
  return isHostAllowed(hosts, `${url.hostname}:${port}`)
}

export const checkHostOrigin = (
  config: AppConfig,
  port: number,
  headers: Readonly<Record<string, string | undefined>>
): Either.Either<void, Forbidden> => {
  const { hosts, parsed } = accepted(config, port)
  const host = headers["host"]
  if (host === undefined || !matchesHost(parsed, host)) {
    return Either.left(new Forbidden({ message: `Host header ${host ?? "(missing)"} is not allowed (server.allowed_hosts)` }))
  }
  const origin = headers["origin"]
  if (origin !== undefined && !isOriginAllowed(config, hosts, origin)) {
    return Either.left(new Forbidden({ message: `Origin ${origin} is not allowed (server.allowed_origins)` }))
  }
  return Either.void
}
