import { describe, expect, it } from "@effect/vitest"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import { Effect, Ref } from "effect"
import { request as httpRequest } from "node:http"
import { authPatch, keys, startServer } from "./fakes.js"

const request = (url: string, init: RequestInit = {}) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    const text = await response.text()
    let body: any = text
    try {
      body = JSON.parse(text)
    } catch {
      // non-JSON bodies (metrics) stay text
    }
    return { status: response.status, headers: response.headers, body }
  })

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  request(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })

/** node:http, because fetch will not send a forged Host header nor report a status once the server stops reading. */
const raw = (port: number, options: { method?: string; path: string; headers?: Record<string, string>; chunks?: ReadonlyArray<string> }) =>
  Effect.async<{ status: number; body: any }>((resume) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method: options.method ?? "GET", path: options.path, headers: options.headers },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => (text += chunk))
        res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: JSON.parse(text) })))
      }
    )
    req.on("error", () => undefined)
    for (const chunk of options.chunks ?? []) req.write(chunk)
    req.end()
  })

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

const validator = new AjvJsonSchemaValidator()

/** Validates `value` against a component of the served OpenAPI document, resolving its `$ref`s inside that document. */
const conforms = (document: { components: unknown }, component: string, value: unknown) =>
  validator.getValidator({ $ref: `#/components/schemas/${component}`, components: document.components } as never)(value)

describe("REST API", () => {
  it.scopedLive("GET / describes the server", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { body, status } = yield* request(`${base}/`)
      expect(status).toBe(200)
      expect(body).toMatchObject({ name: "security-mcp-server", version: "0.0.0-test", transport: "http", tools: 2, tools_enabled: 1 })
      expect(body.endpoints).toContain("POST /tools/{name}/execute")
    }))

  it.scopedLive("GET /health maps healthy/degraded/unhealthy to 200/207/503", () =>
    Effect.gen(function*() {
      const { base, fake } = yield* startServer(authPatch)
      const healthy = yield* request(`${base}/health`)
      expect(healthy.status).toBe(200)
      expect(healthy.body.status).toBe("healthy")
      yield* Ref.set(fake.health, "degraded")
      expect((yield* request(`${base}/health`)).status).toBe(207)
      yield* Ref.set(fake.health, "unhealthy")
      const unhealthy = yield* request(`${base}/health`)
      expect(unhealthy.status).toBe(503)
      expect(unhealthy.body.checks.system_resources.status).toBe("unhealthy")
    }))

  it.scopedLive("GET /tools lists tools", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { body, status } = yield* request(`${base}/tools`)
      expect(status).toBe(200)
      expect(body.map((tool: { name: string }) => tool.name)).toEqual(["NmapTool", "PingTool"])
    }))

  it.scopedLive("POST /tools/{name}/execute returns the execution result and passes the caller", () =>
    Effect.gen(function*() {
      const { base, fake } = yield* startServer()
      const { body, status } = yield* post(`${base}/tools/NmapTool/execute`, {
        target: "127.0.0.1",
        extra_args: "-sV --top-ports 100",
        timeout_sec: 30,
        correlation_id: "scan-001"
      })
      expect(status).toBe(200)
      expect(body).toMatchObject({
        tool: "NmapTool",
        returncode: 0,
        timed_out: false,
        error: null,
        structured: { hosts: [{ address: "127.0.0.1" }] }
      })
      const [call] = yield* Ref.get(fake.calls)
      expect(call?.input).toEqual({ target: "127.0.0.1", extra_args: "-sV --top-ports 100", timeout_sec: 30, correlation_id: "scan-001" })
      expect(call?.caller.transport).toBe("http")
      expect(call?.caller.id).toBe("anonymous@127.0.0.1")
    }))

  it.scopedLive("the executor gets the body as sent, so input the schema refuses is still audited there", () =>
    Effect.gen(function*() {
      const { base, fake } = yield* startServer()
      const input = { target: 42, args: "-sV", unknown_field: { nested: [1, 2] } }
      yield* post(`${base}/tools/NmapTool/execute`, input)
      const [call] = yield* Ref.get(fake.calls)
      expect(call?.input).toEqual(input)
    }))

  it.scopedLive("a process that timed out is still a 200 result carrying the error", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { body, status } = yield* post(`${base}/tools/NmapTool/execute`, { target: "timeout" })
      expect(status).toBe(200)
      expect(body).toMatchObject({ timed_out: true, error_type: "timeout" })
    }))

  it.scopedLive("typed errors map to status codes with a typed body and Retry-After", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const cases = [
        ["rejected", 400, "TargetRejected"],
        ["badarg", 400, "ArgumentRejected"],
        ["invalid", 400, "InvalidInput"],
        ["intrusive", 403, "IntrusiveNotAllowed"],
        ["ratelimited", 429, "RateLimited"],
        ["circuit", 503, "CircuitOpen"],
        ["busy", 503, "ToolBusy"],
        ["spawnfail", 500, "SpawnFailed"]
      ] as const
      for (const [target, expectedStatus, tag] of cases) {
        const { body, status } = yield* post(`${base}/tools/NmapTool/execute`, { target })
        expect([target, status]).toEqual([target, expectedStatus])
        expect(body.detail._tag).toBe(tag)
        expect(typeof body.detail.message).toBe("string")
        expect(JSON.stringify(body)).not.toContain("stack")
      }
      const badArg = yield* post(`${base}/tools/NmapTool/execute`, { target: "badarg" })
      expect(badArg.body.detail).toMatchObject({ token: "--evil", rule: "flag-not-allowed" })
      const limited = yield* post(`${base}/tools/NmapTool/execute`, { target: "ratelimited" })
      expect(limited.headers.get("retry-after")).toBe("7")
      expect(limited.body.detail.retry_after).toBe(7)
      const open = yield* post(`${base}/tools/NmapTool/execute`, { target: "circuit" })
      expect(open.headers.get("retry-after")).toBe("30")
      const unknown = yield* post(`${base}/tools/NoSuchTool/execute`, { target: "127.0.0.1" })
      expect([unknown.status, unknown.body.detail._tag]).toEqual([404, "ToolNotFound"])
      const disabled = yield* post(`${base}/tools/PingTool/execute`, { target: "127.0.0.1" })
      expect([disabled.status, disabled.body.detail._tag]).toEqual([409, "ToolDisabled"])
    }))

  it.scopedLive("bodies: malformed JSON 400, wrong content type 415, too large 413", () =>
    Effect.gen(function*() {
      const { base, port } = yield* startServer({ server: { max_body_bytes: 1024 } })
      const url = `${base}/tools/NmapTool/execute`
      const malformed = yield* request(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{\"target\":" })
      expect([malformed.status, malformed.body.detail._tag]).toEqual([400, "InvalidInput"])
      const wrongType = yield* request(url, { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" })
      expect([wrongType.status, wrongType.body.detail._tag]).toEqual([415, "UnsupportedMediaType"])
      const big = yield* post(url, { target: "127.0.0.1", extra_args: "x".repeat(2000) })
      expect([big.status, big.body.detail._tag]).toEqual([413, "PayloadTooLarge"])
      const chunked = yield* raw(port, {
        method: "POST",
        path: "/tools/NmapTool/execute",
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
        chunks: ["{\"target\":\"", "x".repeat(800), "x".repeat(800), "\"}"]
      })
      expect(chunked.status).toBe(413)
    }))

  it.scopedLive("enable/disable changes the tool list", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const enabled = yield* request(`${base}/tools/PingTool/enable`, { method: "POST" })
      expect([enabled.status, enabled.body.enabled]).toEqual([200, true])
      const disabled = yield* request(`${base}/tools/NmapTool/disable`, { method: "POST" })
      expect([disabled.status, disabled.body.enabled]).toEqual([200, false])
      const missing = yield* request(`${base}/tools/Nope/disable`, { method: "POST" })
      expect(missing.status).toBe(404)
    }))

  it.scopedLive("circuit open/close routes drive the tool's breaker", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const opened = yield* request(`${base}/tools/NmapTool/circuit/open`, { method: "POST" })
      expect([opened.status, opened.body.circuitState]).toEqual([200, "OPEN"])
      const closed = yield* request(`${base}/tools/NmapTool/circuit/close`, { method: "POST" })
      expect([closed.status, closed.body.circuitState]).toEqual([200, "CLOSED"])
      const missing = yield* request(`${base}/tools/Nope/circuit/open`, { method: "POST" })
      expect(missing.status).toBe(404)
    }))

  it.scopedLive("GET /metrics serves the Prometheus text format", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer(authPatch)
      const { body, headers, status } = yield* request(`${base}/metrics`)
      expect(status).toBe(200)
      expect(headers.get("content-type")).toContain("text/plain; version=0.0.4")
      expect(body).toContain("mcp_tool_executions_total 3")
    }))

  it.scopedLive("GET /config masks key hashes", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer(authPatch)
      const { body, status } = yield* request(`${base}/config`, { headers: bearer(keys.admin) })
      expect(status).toBe(200)
      expect(body.auth.api_keys.map((key: { id: string; sha256: string }) => [key.id, key.sha256])).toEqual([
        ["admin", "********"],
        ["exec", "********"]
      ])
      expect(JSON.stringify(body)).not.toMatch(/[0-9a-f]{64}/)
      expect(body.server.port).toBe(0)
    }))

  it.scopedLive("GET /openapi.json is an OpenAPI 3.1 document with the ToolInput schema", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { body, status } = yield* request(`${base}/openapi.json`)
      expect(status).toBe(200)
      expect(body.openapi).toBe("3.1.0")
      expect(Object.keys(body.paths)).toEqual(expect.arrayContaining(["/health", "/tools/{name}/execute", "/mcp"]))
      expect(body.components.schemas.ToolInput.required).toEqual(["target"])
      expect(Object.keys(body.components.schemas.ToolInput.properties)).toEqual(
        expect.arrayContaining(["target", "args", "extra_args", "template", "timeout_sec", "correlation_id"])
      )
      const refs = JSON.stringify(body).match(/"\$ref":"([^"]+)"/g) ?? []
      for (const ref of refs) {
        const name = ref.replace(/.*#\/components\/schemas\/([^"]+)"/, "$1")
        expect(body.components.schemas[name]).toBeDefined()
      }
    }))

  it.scopedLive("responses conform to the schemas the OpenAPI document publishes", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const document = (yield* request(`${base}/openapi.json`)).body
      const responses = [
        ["ToolInfo", (yield* request(`${base}/tools`)).body[0]],
        ["HealthReport", (yield* request(`${base}/health`)).body],
        ["ExecutionResult", (yield* post(`${base}/tools/NmapTool/execute`, { target: "127.0.0.1" })).body],
        ["ExecutionResult", (yield* post(`${base}/tools/NmapTool/execute`, { target: "timeout" })).body],
        ["Error", (yield* post(`${base}/tools/NmapTool/execute`, { target: "badarg" })).body],
        ["Error", (yield* post(`${base}/tools/NmapTool/execute`, { target: "ratelimited" })).body]
      ] as const
      for (const [component, body] of responses) {
        expect([component, conforms(document, component, body).errorMessage]).toEqual([component, undefined])
      }
      expect(conforms(document, "ExecutionResult", { tool: "NmapTool" }).valid).toBe(false)
      expect(conforms(document, "Error", { detail: { message: "no tag" } }).valid).toBe(false)
    }))

  it.scopedLive("unknown paths are 404 with a typed body", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { body, status } = yield* request(`${base}/nope`)
      expect([status, body.detail._tag]).toEqual([404, "NotFound"])
    }))
})

describe("authentication", () => {
  it.scopedLive("no key 401, bad key 401, good key 200, missing scope 403", () =>
    Effect.gen(function*() {
      const { base, fake } = yield* startServer(authPatch)
      const none = yield* request(`${base}/tools`)
      expect([none.status, none.body.detail._tag]).toEqual([401, "Unauthorized"])
      expect(none.headers.get("www-authenticate")).toBe("Bearer")
      const bad = yield* request(`${base}/tools`, { headers: bearer("wrong-key") })
      expect(bad.status).toBe(401)
      const malformed = yield* request(`${base}/tools`, { headers: { authorization: "Basic abc" } })
      expect(malformed.status).toBe(401)
      const good = yield* request(`${base}/tools`, { headers: bearer(keys.executor) })
      expect(good.status).toBe(200)
      const noAdmin = yield* request(`${base}/tools/NmapTool/disable`, { method: "POST", headers: bearer(keys.executor) })
      expect([noAdmin.status, noAdmin.body.detail._tag]).toEqual([403, "Forbidden"])
      const admin = yield* request(`${base}/tools/NmapTool/disable`, { method: "POST", headers: bearer(keys.admin) })
      expect(admin.status).toBe(200)
      expect((yield* request(`${base}/config`, { headers: bearer(keys.executor) })).status).toBe(403)
      expect((yield* request(`${base}/events`, { headers: bearer(keys.executor) })).status).toBe(403)
      const executed = yield* post(`${base}/tools/PingTool/enable`, {}, bearer(keys.admin))
      expect(executed.status).toBe(200)
      const run = yield* post(`${base}/tools/PingTool/execute`, { target: "127.0.0.1" }, bearer(keys.executor))
      expect(run.status).toBe(200)
      const calls = yield* Ref.get(fake.calls)
      expect(calls.at(-1)?.caller.id).toBe("exec")
      expect([...(calls.at(-1)?.caller.scopes ?? [])]).toEqual(["execute"])
    }))

  it.scopedLive("keys in the query string are refused even when valid", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer(authPatch)
      for (const param of ["api_key", "token"]) {
        const { body, status } = yield* request(`${base}/tools?${param}=${keys.admin}`)
        expect(status).toBe(400)
        expect(body.detail.message).toContain("Authorization header")
      }
    }))

  it.scopedLive("health and metrics stay open for probes; / and openapi too", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer(authPatch)
      for (const path of ["/health", "/metrics", "/", "/openapi.json"]) {
        expect([path, (yield* request(`${base}${path}`)).status]).toEqual([path, 200])
      }
    }))

  it.scopedLive("once keys are configured, a loopback client without one is refused too", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer({ auth: { api_keys: authPatch.auth.api_keys } })
      expect((yield* request(`${base}/tools`)).status).toBe(401)
      expect((yield* request(`${base}/tools`, { headers: bearer("nope") })).status).toBe(401)
    }))

  it.scopedLive("without keys, a wrong key is still rejected", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      expect((yield* request(`${base}/tools`)).status).toBe(200)
      expect((yield* request(`${base}/tools`, { headers: bearer("nope") })).status).toBe(401)
    }))
})

describe("Host and Origin validation", () => {
  it.scopedLive("rejects foreign Host and Origin with 403, accepts loopback names", () =>
    Effect.gen(function*() {
      const { base, port } = yield* startServer()
      const init = { jsonrpc: "2.0", id: 1, method: "ping" }
      const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" }
      const badHost = yield* raw(port, {
        method: "POST",
        path: "/mcp",
        headers: { ...headers, host: "evil.example:80" },
        chunks: [JSON.stringify(init)]
      })
      expect([badHost.status, badHost.body.detail._tag]).toEqual([403, "Forbidden"])
      const badOrigin = yield* request(`${base}/mcp`, {
        method: "POST",
        headers: { ...headers, origin: "http://evil.example" },
        body: JSON.stringify(init)
      })
      expect(badOrigin.status).toBe(403)
      const restBadHost = yield* raw(port, { path: "/tools", headers: { host: "evil.example" } })
      expect(restBadHost.status).toBe(403)
      const localOrigin = yield* request(`${base}/tools`, { headers: { origin: `http://localhost:${port}` } })
      expect(localOrigin.status).toBe(200)
      const rebound = yield* raw(port, { path: "/tools", headers: { host: `evil.example:${port}` } })
      expect(rebound.status).toBe(403)
      const byName = yield* raw(port, { path: "/tools", headers: { host: `localhost:${port}` } })
      expect(byName.status).toBe(200)
      const probe = yield* raw(port, { path: "/health", headers: { host: "10.1.2.3:8080" } })
      expect(probe.status).toBe(200)
    }))
})
