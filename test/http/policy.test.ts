import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck, Schema } from "effect"
import { mergeDeep } from "../../src/config/ConfigService.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import * as Errors from "../../src/errors.js"
import { authenticate, authRequired, checkBindSafety, findKey, sha256Hex } from "../../src/http/auth.js"
import { InternalError, NotFound, PayloadTooLarge, TooManyConnections, UnsupportedMediaType } from "../../src/http/errors.js"
import { errorResponse, errorStatus } from "../../src/http/errorStatus.js"
import { allowedHosts, checkHostOrigin, isHostAllowed } from "../../src/http/hostCheck.js"
import { redactConfig, REDACTED } from "../../src/http/redact.js"

const config = (patch: object = {}): AppConfig => Schema.decodeUnknownSync(AppConfig)(mergeDeep(defaults, patch))

const key = (id: string, secret: string, scopes: ReadonlyArray<string> = ["execute"]) => ({ id, sha256: sha256Hex(secret), scopes })

const noQuery = new URLSearchParams()

describe("auth", () => {
  it("checkBindSafety refuses a non-loopback bind without keys unless explicitly allowed", () => {
    expect(Either.isRight(checkBindSafety(config()))).toBe(true)
    expect(Either.isLeft(checkBindSafety(config({ server: { host: "0.0.0.0" } })))).toBe(true)
    expect(Either.isRight(checkBindSafety(config({ server: { host: "0.0.0.0" }, auth: { api_keys: [key("a", "s")] } })))).toBe(true)
    expect(Either.isRight(checkBindSafety(config({ server: { host: "0.0.0.0" }, auth: { allow_unauthenticated_non_loopback: true } }))))
      .toBe(true)
    expect(Either.isLeft(checkBindSafety(config({ auth: { require_auth: true } })))).toBe(true)
  })

  it("keys are required with require_auth or as soon as any key is configured", () => {
    expect(authRequired(config())).toBe(false)
    expect(authRequired(config({ auth: { api_keys: [key("a", "s")] } }))).toBe(true)
    expect(authRequired(config({ auth: { require_auth: true, api_keys: [key("a", "s")] } }))).toBe(true)
    expect(authRequired(config({ server: { host: "0.0.0.0" }, auth: { api_keys: [key("a", "s")] } }))).toBe(true)
  })

  it("findKey matches by hash only", () => {
    const keys = config({ auth: { api_keys: [key("a", "secret-a"), key("b", "secret-b")] } }).auth.api_keys
    expect(findKey(keys, "secret-b")?.id).toBe("b")
    expect(findKey(keys, "secret-c")).toBeUndefined()
    expect(findKey(keys, sha256Hex("secret-a"))).toBeUndefined()
  })

  it("authenticate builds the caller from the key", () => {
    const c = config({
      auth: { require_auth: true, api_keys: [{ ...key("ops", "k1", ["execute", "admin"]), allowed_targets: ["127.0.0.0/8"] }] }
    })
    const ok = authenticate(c, { headers: { authorization: "Bearer k1" }, searchParams: noQuery, remoteAddress: "127.0.0.1" }, "http")
    expect(Either.getOrThrow(ok)).toMatchObject({ id: "ops", transport: "http", address: "127.0.0.1", allowedTargets: ["127.0.0.0/8"] })
    expect([...Either.getOrThrow(ok).scopes]).toEqual(["execute", "admin"])
    const missing = authenticate(c, { headers: {}, searchParams: noQuery }, "http")
    expect(Either.isLeft(missing) && missing.left._tag).toBe("Unauthorized")
    const inQuery = authenticate(c, { headers: { authorization: "Bearer k1" }, searchParams: new URLSearchParams("api_key=k1") }, "http")
    expect(Either.isLeft(inQuery) && inQuery.left._tag).toBe("InvalidInput")
  })

  it("anonymous callers get every scope only when no key exists and they connect directly from loopback", () => {
    const open = config()
    const direct = authenticate(open, { headers: {}, searchParams: noQuery, remoteAddress: "::ffff:127.0.0.1" }, "http")
    expect(Either.isRight(direct) && [...direct.right.scopes]).toEqual(["execute", "intrusive", "admin", "schedule"])
    const proxied = authenticate(
      open,
      { headers: { "x-forwarded-for": "203.0.113.9" }, searchParams: noQuery, remoteAddress: "127.0.0.1" },
      "http"
    )
    expect(Either.isLeft(proxied) && proxied.left._tag).toBe("Unauthorized")
    const remote = authenticate(config({ server: { host: "0.0.0.0" }, auth: { allow_unauthenticated_non_loopback: false } }), {
      headers: {},
      searchParams: noQuery,
      remoteAddress: "10.1.2.3"
    }, "http")
    expect(Either.isLeft(remote)).toBe(true)
    const keyed = authenticate(config({ auth: { api_keys: [key("narrow", "k")] } }), {
      headers: {},
      searchParams: noQuery,
      remoteAddress: "127.0.0.1"
    }, "http")
    expect(Either.isLeft(keyed) && keyed.left._tag).toBe("Unauthorized")
    const upper = authenticate(open, { headers: {}, searchParams: new URLSearchParams("API_KEY=k"), remoteAddress: "127.0.0.1" }, "http")
    expect(Either.isLeft(upper) && upper.left._tag).toBe("InvalidInput")
  })

  it.prop("any key other than the stored one is rejected", [
    FastCheck.string({ minLength: 1, maxLength: 64 }).filter((s) => !/\s/.test(s) && s !== "the-key")
  ], ([presented]) => {
    const c = config({ auth: { require_auth: true, api_keys: [key("only", "the-key")] } })
    const result = authenticate(c, { headers: { authorization: `Bearer ${presented}` }, searchParams: noQuery }, "http")
    expect(Either.isLeft(result)).toBe(true)
  })
})

describe("Host/Origin checks", () => {
  it("defaults to loopback names and the bind host on the bound port", () => {
    expect(allowedHosts(config(), 8080)).toEqual(["localhost:8080", "127.0.0.1:8080", "[::1]:8080"])
    expect(allowedHosts(config({ server: { host: "10.1.2.3" } }), 80)).toContain("10.1.2.3:80")
    expect(allowedHosts(config({ server: { host: "0.0.0.0" } }), 80)).not.toContain("0.0.0.0:80")
    expect(allowedHosts(config({ server: { allowed_hosts: ["mcp.lab.internal"] } }), 80)).toEqual(["mcp.lab.internal"])
  })

  it("matches host and port", () => {
    const allowed = ["localhost:8080", "[::1]:8080", "mcp.lab.internal"]
    expect(isHostAllowed(allowed, "localhost:8080")).toBe(true)
    expect(isHostAllowed(allowed, "LOCALHOST:8080")).toBe(true)
    expect(isHostAllowed(allowed, "[::1]:8080")).toBe(true)
    expect(isHostAllowed(allowed, "mcp.lab.internal:9999")).toBe(true)
    expect(isHostAllowed(allowed, "localhost:8081")).toBe(false)
    expect(isHostAllowed(allowed, "localhost")).toBe(false)
    expect(isHostAllowed(allowed, "evil.com:8080")).toBe(false)
    expect(isHostAllowed(allowed, "localhost:8080@evil.com")).toBe(false)
  })

  it.prop("rejects every other host name", [FastCheck.domain()], ([domain]) => {
    expect(isHostAllowed(["localhost:8080", "127.0.0.1:8080"], `${domain}:8080`)).toBe(domain === "localhost")
  })

  it("checks Origin against allowed_origins, or the allowed hosts when none are configured", () => {
    const c = config()
    expect(Either.isRight(checkHostOrigin(c, 8080, { host: "127.0.0.1:8080" }))).toBe(true)
    expect(Either.isRight(checkHostOrigin(c, 8080, { host: "127.0.0.1:8080", origin: "http://localhost:8080" }))).toBe(true)
    expect(Either.isLeft(checkHostOrigin(c, 8080, { host: "127.0.0.1:8080", origin: "http://evil.com" }))).toBe(true)
    expect(Either.isLeft(checkHostOrigin(c, 8080, { host: "127.0.0.1:8080", origin: "null" }))).toBe(true)
    expect(Either.isLeft(checkHostOrigin(c, 8080, {}))).toBe(true)
    const listed = config({ server: { allowed_origins: ["https://app.lab.internal"] } })
    expect(Either.isRight(checkHostOrigin(listed, 8080, { host: "127.0.0.1:8080", origin: "https://app.lab.internal" }))).toBe(true)
    expect(Either.isLeft(checkHostOrigin(listed, 8080, { host: "127.0.0.1:8080", origin: "http://localhost:8080" }))).toBe(true)
  })
})

describe("error status mapping", () => {
  it("maps every error to its status", () => {
    const cases = [
      [new Errors.InvalidInput({ message: "m", issues: [] }), 400],
      [new Errors.TargetRejected({ target: "t", rule: "r", message: "m" }), 400],
      [new Errors.ArgumentRejected({ token: "t", rule: "r", message: "m" }), 400],
      [new Errors.Unauthorized({ message: "m" }), 401],
      [new Errors.IntrusiveNotAllowed({ token: "-A", message: "m" }), 403],
      [new Errors.Forbidden({ message: "m" }), 403],
      [new Errors.ToolNotFound({ tool: "x", message: "m" }), 404],
      [new Errors.ToolDisabled({ tool: "x", message: "m" }), 409],
      [new PayloadTooLarge({ limitBytes: 1, message: "m" }), 413],
      [new UnsupportedMediaType({ contentType: "text/plain", message: "m" }), 415],
      [new Errors.RateLimited({ scope: "client", retryAfterSeconds: 1, message: "m" }), 429],
      [new Errors.SpawnFailed({ command: "nmap", message: "m" }), 500],
      [new Errors.ToolUnavailable({ tool: "x", message: "m" }), 503],
      [new Errors.CircuitOpen({ tool: "x", retryAfterSeconds: 1, message: "m" }), 503],
      [new Errors.ToolBusy({ tool: "x", message: "m" }), 503],
      [new TooManyConnections({ limit: 1, message: "m" }), 503],
      [new NotFound({ message: "m" }), 404],
      [new InternalError({ message: "m" }), 500]
    ] as const
    for (const [error, status] of cases) expect([error._tag, errorStatus(error._tag)]).toEqual([error._tag, status])
  })

  it("puts fields and retry hints in the body, never the stack", () => {
    const response = errorResponse(new Errors.CircuitOpen({ tool: "NmapTool", retryAfterSeconds: 12.3, message: "open" }))
    expect(response.headers).toEqual({ "retry-after": "13" })
    expect(response.body).toEqual({
      detail: { _tag: "CircuitOpen", message: "open", tool: "NmapTool", retryAfterSeconds: 12.3, retry_after: 13 }
    })
  })
})

describe("redactConfig", () => {
  it("masks every key hash and keeps the rest", () => {
    const c = config({ auth: { api_keys: [key("a", "s1", ["admin"]), key("b", "s2")] } })
    const redacted = redactConfig(c)
    expect(redacted.auth.api_keys.map((k) => [k.id, k.sha256, k.scopes])).toEqual([["a", REDACTED, ["admin"]], ["b", REDACTED, [
      "execute"
    ]]])
    expect(JSON.stringify(redacted)).not.toContain(sha256Hex("s1"))
    expect(redacted.server).toEqual(c.server)
    expect(c.auth.api_keys[0]?.sha256).toBe(sha256Hex("s1"))
  })
})
