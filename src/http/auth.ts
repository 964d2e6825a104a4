import { Either } from "effect"
import { createHash, timingSafeEqual } from "node:crypto"
import { type ApiKey, type AppConfig } from "../config/schema.js"
import { ConfigInvalid, Forbidden, InvalidInput, Unauthorized } from "../errors.js"
import { type CallerScope, OPERATOR_SCOPES } from "../identity/Caller.js"
import type { Caller } from "../identity/Caller.js"
import { isLoopbackHost } from "../policy/ip.js"

const OPERATOR: ReadonlySet<CallerScope> = new Set(OPERATOR_SCOPES)

/** Query parameters that would put a secret into access logs, proxies and browser history. */
const SECRET_PARAMS = ["api_key", "apikey", "api-key", "token", "access_token", "key", "authorization", "bearer"]

export const sha256Hex = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex")

/** Headers a reverse proxy adds: a request carrying one did not come from a local client, whatever its socket says. */
const PROXY_HEADERS = ["forwarded", "x-forwarded-for", "x-real-ip"]

/**
 * Once any key is configured every request needs one: otherwise leaving the
 * header out would bypass the keys' scopes and target lists, and a proxy on
 * the same host that adds no forwarding headers would pass for a local client.
 */
export const authRequired = (config: AppConfig): boolean => config.auth.require_auth || config.auth.api_keys.length > 0

/** Refuses configurations that would expose tool execution to a network without any key, or lock everybody out. */
export const checkBindSafety = (config: AppConfig): Either.Either<void, ConfigInvalid> => {
  const refuse = (message: string) => Either.left(new ConfigInvalid({ source: "auth", message, issues: [message] }))
  if (config.auth.require_auth && config.auth.api_keys.length === 0) {
    return refuse("auth.require_auth is set but auth.api_keys is empty: no request could ever be authorized")
  }
  if (
    !isLoopbackHost(config.server.host) && config.auth.api_keys.length === 0 &&
    !config.auth.allow_unauthenticated_non_loopback
  ) {
    return refuse(
      `server.host ${config.server.host} is not a loopback address and auth.api_keys is empty: ` +
        "configure API keys, bind 127.0.0.1, or set auth.allow_unauthenticated_non_loopback behind an authenticating proxy"
    )
  }
  return Either.void
}

/** Compares the presented key's hash with every stored hash, so the time taken reveals neither which key nor how much matched. */
export const findKey = (keys: ReadonlyArray<ApiKey>, presented: string): ApiKey | undefined => {
  const digest = Buffer.from(sha256Hex(presented), "hex")
  let found: ApiKey | undefined
  for (const key of keys) {
    if (timingSafeEqual(digest, Buffer.from(key.sha256, "hex")) && found === undefined) found = key
  }
  return found
}

export interface AuthRequest {
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly searchParams: URLSearchParams
  readonly remoteAddress?: string | undefined
}

export const rejectSecretsInQuery = (params: URLSearchParams): Either.Either<void, InvalidInput> => {
  if (params.size === 0) return Either.void
  const found = [...params.keys()].filter((name) => SECRET_PARAMS.includes(name.toLowerCase()))
  return found.length === 0
    ? Either.void
    : Either.left(
      new InvalidInput({
        message: "API keys are accepted only in the Authorization header (Authorization: Bearer <key>), never in the URL",
        issues: found.map((name) => `query parameter ${name} is not allowed`)
      })
    )
}

/** The last address judged, and whether it is loopback: every request of a connection, a flood included, asks about the same one. */
let lastAddress: string | undefined
let lastLoopback = false
const isLoopbackAddress = (address: string): boolean => {
  if (address !== lastAddress) {
    lastLoopback = isLoopbackHost(address)
    lastAddress = address
  }
  return lastLoopback
}

const bearer = (header: string | undefined): string | undefined => {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header)
  return match?.[1]
}

/**
 * Who is calling. A presented key is always checked (a wrong key is 401 even
 * when keys are optional). Without one the caller is the local operator with
 * every scope but approve, free to name any engagement, but only when keys are not required and the request comes
 * straight from a loopback address with no proxy headers: a reverse proxy on
 * the same host must not turn the whole network into the local operator.
 * `allow_unauthenticated_non_loopback` waives the origin check for operators
 * whose proxy authenticates.
 */
export const authenticate = (
  config: AppConfig,
  request: AuthRequest,
  transport: Caller["transport"]
): Either.Either<Caller, Unauthorized | InvalidInput> => {
  const inQuery = rejectSecretsInQuery(request.searchParams)
  if (Either.isLeft(inQuery)) return Either.left(inQuery.left)
  const address = request.remoteAddress
  const header = request.headers["authorization"]
  if (header === undefined) {
    const local = address !== undefined && isLoopbackAddress(address) && !PROXY_HEADERS.some((name) => request.headers[name] !== undefined)
    if (authRequired(config)) return Either.left(new Unauthorized({ message: "Missing API key: send Authorization: Bearer <key>" }))
    return !local && !config.auth.allow_unauthenticated_non_loopback
      ? Either.left(
        new Unauthorized({
          message:
            "Missing API key: anonymous access is only for clients on this host connecting directly; send Authorization: Bearer <key>"
        })
      )
      : Either.right({
        id: `anonymous@${address ?? "unknown"}`,
        transport,
        scopes: OPERATOR,
        engagements: "any",
        ...(address === undefined ? {} : { address })
      })
  }
  const token = bearer(header)
  if (token === undefined) {
    return Either.left(new Unauthorized({ message: "Malformed Authorization header: expected Bearer <key>" }))
  }
  const key = findKey(config.auth.api_keys, token)
  if (key === undefined) return Either.left(new Unauthorized({ message: "Invalid API key" }))
  return Either.right({
    id: key.id,
    transport,
    scopes: new Set(key.scopes),
    ...(address === undefined ? {} : { address }),
    ...(key.allowed_targets === undefined ? {} : { allowedTargets: key.allowed_targets }),
    ...(key.engagements === undefined ? {} : { engagements: key.engagements })
  })
}

export const requireScope = (caller: Caller, scope: CallerScope): Either.Either<Caller, Forbidden> =>
  caller.scopes.has(scope)
    ? Either.right(caller)
    : Either.left(new Forbidden({ message: `API key ${caller.id} lacks the ${scope} scope` }))
