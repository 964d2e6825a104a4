import { describe, expect, it } from "@effect/vitest"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import { Effect, Fiber, Ref } from "effect"
import { request as httpRequest } from "node:http"
import { join } from "node:path"
import { seedScan } from "../support/scans.js"
import { tempDir } from "../support/shims.js"
import { authPatch, idleConnections, keys, startServer } from "./fakes.js"

/**
 * The OpenAPI document against the running server: every route the server
 * answers is in the document, and every status a real request got from a
 * route (no key, a wrong key, a key in the query string, a hostile Host or
 * Origin, a missing scope, bad bodies, every typed failure of an execution,
 * the MCP transport's own refusals, a connection over the limit) is
 * documented for that route, with a body that matches the documented schema.
 */

interface Reply {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: unknown
}

interface Call {
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  readonly body?: string
}

/** One request on its own connection (node:http: fetch will not forge Host); a stream is cut once its headers arrived. */
const send = (port: number, call: Call) =>
  Effect.async<Reply>((resume) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method: call.method, path: call.path, headers: call.headers, agent: false },
      (res) => {
        const reply = (body: unknown) => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body }))
        if (res.headers["content-type"]?.startsWith("text/event-stream")) {
          res.destroy()
          return reply(undefined)
        }
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (chunk) => (text += chunk))
        res.on("end", () => {
          let body: unknown = text
          try {
            body = text === "" ? undefined : JSON.parse(text)
          } catch {
            // text bodies (metrics) stay text
          }
          reply(body)
        })
      }
    )
    req.on("error", (error) => resume(Effect.die(error)))
    req.end(call.body)
    return Effect.sync(() => req.destroy())
  })

/** Opens an SSE stream and holds it until the scope closes; succeeds with the status once the headers arrive. */
const hold = (port: number, call: Call) =>
  Effect.acquireRelease(
    Effect.async<{ readonly status: number; readonly close: () => void }>((resume) => {
      const req = httpRequest(
        { host: "127.0.0.1", port, method: call.method, path: call.path, headers: call.headers, agent: false },
        (res) => resume(Effect.succeed({ status: res.statusCode ?? 0, close: () => req.destroy() }))
      )
      req.on("error", (error) => resume(Effect.die(error)))
      req.end(call.body)
    }),
    (stream) => Effect.sync(stream.close)
  )

const bearer = (key: string) => ({ authorization: `Bearer ${key}` })
const JSON_TYPE = { "content-type": "application/json" }
const MCP_ACCEPT = { accept: "application/json, text/event-stream" }
const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "openapi-test", version: "1.0.0" } }
})
const ping = JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" })
const initialized = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })

/** A request that succeeds on each route when sent with the admin key. */
const validBody = (method: string, route: string): string | undefined => {
  if (method === "PATCH" && route === "/schedules/{id}") return JSON.stringify({ enabled: false })
  if (method !== "POST") return undefined
  if (route === "/mcp") return initialize
  if (route.endsWith("/execute")) return JSON.stringify({ target: "127.0.0.1" })
  if (route.endsWith("/approve") || route.endsWith("/deny") || route.endsWith("/revoke")) return JSON.stringify({ reason: "checked" })
  if (route === "/schedules") return JSON.stringify({ name: "battery", tool: "NmapTool", target: "127.0.0.1", interval: 3600 })
  return undefined
}

/** Two pending approvals, one for each decision route (a decided one answers 409), and an approved standing one to revoke. */
const pending = { approve: "", deny: "", revoke: "" }

/** The dead letter the retry route is probed with. */
const letter = { id: "none" }

/** The scans the document's scan routes are probed with (the admin key's own). */
const seeded = { id: "", other: "" }

/** The admin key's schedule the schedule routes are probed with (the battery's DELETE removes it last). */
const schedule = { id: "none" }

const idFor = (route: string) =>
  route.startsWith("/approvals/")
    ? (route.endsWith("/deny") ? pending.deny : route.endsWith("/revoke") ? pending.revoke : pending.approve)
    : route.startsWith("/webhooks/dead-letters/")
    ? letter.id
    : route.startsWith("/schedules/")
    ? schedule.id
    : seeded.id

const concrete = (route: string) =>
  route === "/history" || route === "/history/report"
    ? `${route}?target=127.0.0.0%2F30`
    : route.replace("{name}", "NmapTool").replace("{id}", idFor(route)).replace("{other}", seeded.other)

/** What every route is probed with, whatever it is. */
const battery = (route: string, method: string): ReadonlyArray<Call> => {
  const path = concrete(route)
  const body = validBody(method, route)
  const base = { method, path, ...(body === undefined ? {} : { body }) }
  const headers = { ...(body === undefined ? {} : JSON_TYPE), ...(route === "/mcp" ? MCP_ACCEPT : {}) }
  const calls: Array<Call> = [
    { ...base, headers },
    { ...base, headers: { ...headers, ...bearer("wrong-key") } },
    { ...base, path: `${path}${path.includes("?") ? "&" : "?"}api_key=${keys.admin}`, headers: { ...headers, ...bearer(keys.admin) } },
    { ...base, headers: { ...headers, ...bearer(keys.admin), host: "evil.example" } },
    { ...base, headers: { ...headers, ...bearer(keys.admin), origin: "http://evil.example" } },
    { ...base, headers: { ...headers, ...bearer(keys.executor) } },
    { ...base, headers: { ...headers, ...bearer(keys.admin) } },
    { ...base, headers: { ...headers, ...bearer(keys.admin), authorization: "Basic abc" } }
  ]
  if (method === "POST" || method === "PATCH") {
    const admin = { ...headers, ...bearer(keys.admin) }
    calls.push(
      { method, path, headers: { ...admin, ...JSON_TYPE }, body: "{\"target\":" },
      { method, path, headers: { ...admin, "content-type": "text/plain" }, body: "{}" },
      { method, path, headers: { ...admin, ...JSON_TYPE }, body: JSON.stringify({ target: "127.0.0.1", extra_args: "x".repeat(2000) }) }
    )
  }
  return calls
}

const admin = { ...bearer(keys.admin), ...JSON_TYPE }
const execute = (tool: string, target: string): Call => ({
  method: "POST",
  path: `/tools/${tool}/execute`,
  headers: admin,
  body: JSON.stringify({ target })
})

/** Each typed failure an execution can end with, from the fake executor's cues, plus unknown and disabled tools. */
const executions: ReadonlyArray<Call> = [
  ...["rejected", "badarg", "intrusive", "invalid", "ratelimited", "circuit", "busy", "spawnfail", "timeout"].map((target) =>
    execute("NmapTool", target)
  ),
  execute("NoSuchTool", "127.0.0.1"),
  execute("PingTool", "127.0.0.1"),
  { method: "POST", path: "/tools/NoSuchTool/enable", headers: admin },
  { method: "POST", path: "/tools/NoSuchTool/circuit/open", headers: admin }
]

const mcp = (method: string, headers: Record<string, string>, body?: string): Call => ({
  method,
  path: "/mcp",
  headers: { ...MCP_ACCEPT, ...bearer(keys.admin), ...(body === undefined ? {} : JSON_TYPE), ...headers },
  ...(body === undefined ? {} : { body })
})

/** The transport's own answers: sessions, Accept, streams. */
const mcpCalls = (session: string): ReadonlyArray<Call> => [
  mcp("POST", { "mcp-session-id": session }, initialized),
  mcp("POST", { "mcp-session-id": session }, ping),
  mcp("POST", {}, ping),
  mcp("POST", { "mcp-session-id": "no-such-session" }, ping),
  mcp("POST", { accept: "application/json" }, initialize),
  mcp("GET", {}),
  mcp("GET", { "mcp-session-id": "no-such-session" }),
  mcp("GET", { "mcp-session-id": session, accept: "application/json" }),
  mcp("DELETE", {}),
  mcp("DELETE", { "mcp-session-id": "no-such-session" })
]

type Document = {
  readonly paths: Record<string, Record<string, { readonly responses: Record<string, any> }>>
  readonly components: unknown
}

const validator = new AjvJsonSchemaValidator()

/** The route template a concrete path was sent to. */
const routeOf = (document: Document, path: string) => {
  const bare = path.split("?")[0]!
  return Object.keys(document.paths).find((route) => new RegExp(`^${route.replace(/\{[^}]+\}/g, "[^/]+")}$`).test(bare)) ?? bare
}

/** Records what each route answered, and checks the body against the schema documented for that status. */
const observer = (document: Document) => {
  const seen = new Map<string, Set<number>>()
  const undocumented: Array<string> = []
  const record = (call: Call, reply: Reply) => {
    const route = routeOf(document, call.path)
    const key = `${call.method} ${route}`
    seen.set(key, (seen.get(key) ?? new Set()).add(reply.status))
    // Not a route (unknown paths and methods): nothing to document, checked to be 404 below.
    if (document.paths[route]?.[call.method.toLowerCase()] === undefined) return
    const documented = document.paths[route]![call.method.toLowerCase()]!.responses[String(reply.status)]
    if (documented === undefined) return undocumented.push(`${key} ${reply.status} ${JSON.stringify(reply.body)}`)
    const schema = documented.content?.["application/json"]?.schema
    if (schema !== undefined && typeof reply.body === "object") {
      const check = validator.getValidator({ ...schema, components: document.components } as never)(reply.body)
      if (!check.valid) undocumented.push(`${key} ${reply.status} body ${JSON.stringify(reply.body)}: ${check.errorMessage}`)
    }
  }
  return { seen, undocumented, record }
}

const run = (port: number, calls: ReadonlyArray<Call>, record: (call: Call, reply: Reply) => void) =>
  Effect.forEach(calls, (call) => Effect.map(send(port, call), (reply) => record(call, reply)), { discard: true })

/** Repeats `check` until it holds; the test's own timeout bounds it. */
const eventually = <E, R>(check: Effect.Effect<boolean, E, R>): Effect.Effect<void, E, R> =>
  Effect.flatMap(check, (done) => (done ? Effect.void : Effect.zipRight(Effect.sleep("20 millis"), eventually(check))))

describe("the OpenAPI document", () => {
  it.scopedLive("documents every route the server answers with every status it returned", () =>
    Effect.gen(function*() {
      const auditFile = join(yield* tempDir("openapi-audit"), "audit.log")
      const { approvals, fake, port, scans, scheduleStore } = yield* startServer({
        ...authPatch,
        server: { max_body_bytes: 1024 },
        security: { audit_log_path: auditFile }
      }, {
        storage: true
      })
      const { approval: standing } = yield* approvals.requestStanding({
        subject: {
          scheduleId: "probed",
          tool: "NmapTool",
          target: "127.0.0.1",
          args: ["-A"],
          template: null,
          command: ["nmap", "-A"],
          maxRuntime: null,
          timeoutSeconds: 300,
          engagement: { name: "lab", hash: "0".repeat(64) },
          requestedBy: "exec"
        },
        requester: { id: "exec", transport: "http", scopes: new Set(["execute"]) },
        argv: ["-A", "127.0.0.1"],
        intrusive: true,
        intrusiveReasons: ["-A"],
        engagementEndsMs: undefined
      })
      const approver = { id: "admin", transport: "http" as const, scopes: new Set(["approve" as const]), engagements: ["lab"] }
      yield* Effect.orDie(approvals.decide(standing.approval_id, "approved", approver, "probe"))
      pending.revoke = standing.approval_id
      letter.id = "01M8SD0000000000000000DEAD"
      yield* Effect.orDie(scheduleStore.deadLetter({
        id: letter.id,
        webhook: "gone",
        scheduleId: "probed",
        runId: "run",
        payload: JSON.stringify({ alert_id: "alert" }),
        attempts: 3,
        lastError: "the receiver answered HTTP 500",
        nowMs: Date.now()
      }))
      for (const decision of ["approve", "deny"] as const) {
        const required = yield* approvals.request({
          subject: {
            tool: "NmapTool",
            resolvedTarget: "127.0.0.1",
            argv: ["nmap", "-A", "127.0.0.1"],
            engagement: { name: "lab", hash: "0".repeat(64) },
            timeoutSeconds: 60,
            requestedBy: "exec"
          },
          requester: { id: "exec", transport: "http", scopes: new Set(["execute"]) },
          target: "127.0.0.1",
          intrusive: true,
          intrusiveReasons: ["-A"],
          correlationId: `openapi-${decision}`
        })
        pending[decision] = required.approval_id
      }
      seeded.id = yield* seedScan(scans, { callerId: "admin", open: [22, 80] })
      seeded.other = yield* seedScan(scans, { callerId: "admin", open: [22, 443] })
      const document = (yield* send(port, { method: "GET", path: "/openapi.json" })).body as Document
      const { record, seen, undocumented } = observer(document)
      // DELETE last: removing the probed schedule first would leave its other routes nothing to answer 200 with.
      const routes = Object.entries(document.paths).flatMap(([route, operations]) =>
        Object.keys(operations).map((method) => [route, method.toUpperCase()] as const)
      ).sort(([, a], [, b]) => Number(a === "DELETE") - Number(b === "DELETE"))
      const created = yield* send(port, {
        method: "POST",
        path: "/schedules",
        headers: admin,
        body: JSON.stringify({ name: "probed", tool: "NmapTool", target: "127.0.0.1", cron: "0 3 * * *" })
      })
      schedule.id = (created.body as { schedule_id: string }).schedule_id
      // A schedule's own failures: a name taken (409), a timing that cannot run (400).
      yield* run(port, [
        {
          method: "POST",
          path: "/schedules",
          headers: admin,
          body: JSON.stringify({ name: "probed", tool: "NmapTool", target: "x", interval: 3600 })
        },
        {
          method: "POST",
          path: "/schedules",
          headers: admin,
          body: JSON.stringify({ name: "bad", tool: "NmapTool", target: "x", cron: "* * *" })
        }
      ], record)
      // The executions first: the battery disables NmapTool on its way.
      yield* run(port, executions, record)
      for (const [route, method] of routes) yield* run(port, battery(route, method), record)
      const opened = yield* send(port, mcp("POST", {}, initialize))
      const session = String(opened.headers["mcp-session-id"])
      yield* run(port, mcpCalls(session), record)
      // The session's stream sends its headers with its first event: closing the session ends it, with its status.
      const listen = mcp("GET", { "mcp-session-id": session })
      const stream = yield* Effect.fork(send(port, listen))
      const second = send(port, listen).pipe(Effect.timeoutOption("500 millis"))
      yield* eventually(Effect.map(second, (reply) => reply._tag === "Some" && reply.value.status === 409))
      yield* run(port, [listen], record)
      yield* run(port, [mcp("DELETE", { "mcp-session-id": session })], record)
      record(listen, yield* Fiber.join(stream))
      for (const status of ["degraded", "unhealthy"] as const) {
        yield* Ref.set(fake.health, status)
        yield* run(port, [{ method: "GET", path: "/health" }], record)
      }
      yield* run(port, [{ method: "GET", path: "/nope" }, { method: "PUT", path: "/tools" }], record)

      expect(undocumented).toEqual([])
      // Every route was reached (not 404 as an unknown path), and each answered more than one status.
      for (const [route, method] of routes) {
        expect([route, method, seen.get(`${method} ${route}`)?.has(200)]).toEqual([route, method, true])
      }
      expect([...seen.get("GET /nope")!]).toEqual([404])
      expect([...seen.get("PUT /tools")!]).toEqual([404])
      expect([...seen.get("POST /tools/{name}/execute")!].sort((a, b) => a - b)).toEqual([
        200,
        400,
        401,
        403,
        404,
        409,
        413,
        415,
        429,
        500,
        503
      ])
      expect([...seen.get("POST /mcp")!].sort((a, b) => a - b)).toEqual([200, 202, 400, 401, 403, 404, 413, 415])
      expect([...seen.get("GET /health")!].sort((a, b) => a - b)).toEqual([200, 207, 400, 503])
      // Another key's scans are not there for the executor's key: 404, as a missing one.
      for (
        const route of [
          "/scans/{id}",
          "/scans/{id}/raw",
          "/scans/{id}/diff/{other}",
          "/scans/{id}/report",
          "/scans/{id}/diff/{other}/report",
          "/scans/{id}/export"
        ]
      ) {
        expect([route, [...seen.get(`GET ${route}`)!].sort((a, b) => a - b)]).toEqual([route, [200, 400, 401, 403, 404]])
      }
      expect([...seen.get("GET /scans")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403])
      expect([...seen.get("GET /audit")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403])
      expect([...seen.get("POST /schedules")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403, 409, 413, 415])
      // Another key's schedule is not there for the executor's key (404); DELETE needs the schedule scope (403).
      expect([...seen.get("GET /schedules/{id}")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403, 404])
      expect([...seen.get("DELETE /schedules/{id}")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403])
      expect([...seen.get("PATCH /schedules/{id}")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403, 404, 413, 415])
      expect([...seen.get("POST /webhooks/dead-letters/{id}/retry")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403])
      expect([...seen.get("POST /approvals/{id}/revoke")!].sort((a, b) => a - b)).toEqual([200, 400, 401, 403, 409, 413, 415])
    }), 60_000)

  it.scopedLive("names the scope each route requires, and the server enforces exactly that", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer(authPatch)
      const document = (yield* send(port, { method: "GET", path: "/openapi.json" })).body as Document & {
        readonly paths: Record<string, Record<string, { readonly security: ReadonlyArray<Record<string, ReadonlyArray<string>>> }>>
      }
      for (const [route, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          const scopes = operation.security.flatMap((requirement) => requirement["bearer"] ?? [])
          const body = validBody(method.toUpperCase(), route)
          const call = {
            method: method.toUpperCase(),
            path: concrete(route),
            headers: { ...bearer(keys.executor), ...MCP_ACCEPT, ...(body === undefined ? {} : JSON_TYPE) },
            ...(body === undefined ? {} : { body })
          }
          const refused = (yield* send(port, call)).status === 403
          // The executor's key has only the execute scope.
          expect([method, route, refused]).toEqual([method, route, scopes.some((scope) => scope !== "execute")])
        }
      }
      expect(document.paths["/tools/{name}/execute"]!["post"]!.security).toEqual([{ bearer: ["execute"] }])
      expect(document.paths["/config"]!["get"]!.security).toEqual([{ bearer: ["admin"] }])
      expect(document.paths["/tools"]!["get"]!.security).toEqual([{ bearer: [] }])
      expect(document.paths["/health"]!["get"]!.security).toEqual([])
    }))

  it.scopedLive("lists every endpoint of the API, the same ones GET / names", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer()
      const document = (yield* send(port, { method: "GET", path: "/openapi.json" })).body as Document
      const described = (yield* send(port, { method: "GET", path: "/" })).body as { endpoints: ReadonlyArray<string> }
      const documented = Object.entries(document.paths).map(([route, operations]) =>
        `${Object.keys(operations).map((method) => method.toUpperCase()).join("|")} ${route}`
      )
      expect(documented).toEqual(described.endpoints)
      expect(documented).toEqual(expect.arrayContaining([
        "GET /health",
        "GET /metrics",
        "GET /",
        "GET /openapi.json",
        "GET /tools",
        "POST /tools/{name}/execute",
        "POST /tools/{name}/enable",
        "POST /tools/{name}/disable",
        "POST /tools/{name}/circuit/open",
        "POST /tools/{name}/circuit/close",
        "GET /config",
        "GET /events",
        "GET /scans",
        "GET /scans/{id}",
        "GET /scans/{id}/raw",
        "GET /scans/{id}/diff/{other}",
        "GET /history",
        "GET /scans/{id}/report",
        "GET /scans/{id}/diff/{other}/report",
        "GET /history/report",
        "GET /scans/{id}/export",
        "GET /audit",
        "POST|GET|DELETE /mcp"
      ]))
    }))

  it.scopedLive("the session limits of /mcp and a connection over server.max_connections are documented on every route", () =>
    Effect.gen(function*() {
      const limits = { auth: authPatch.auth, server: { max_connections: 4, mcp_max_sessions: 3, mcp_sessions_per_client: 2 } }
      const { port } = yield* startServer(limits)
      const document = (yield* send(port, { method: "GET", path: "/openapi.json" })).body as Document
      const { record, seen, undocumented } = observer(document)
      // Sessions listening on a stream are busy, so none is evicted: two for the executor's key, a third refused
      // (429); one for the admin, then every session of the server is busy (503). The three streams and three idle
      // connections then fill max_connections for what follows.
      const listening = (key: Record<string, string>) =>
        Effect.gen(function*() {
          const call = mcp("POST", key, initialize)
          const opened = yield* send(port, call)
          record(call, opened)
          const stream = yield* hold(port, mcp("GET", { ...key, "mcp-session-id": String(opened.headers["mcp-session-id"]) }))
          expect(stream.status).toBe(200)
        })
      yield* listening(bearer(keys.executor))
      yield* listening(bearer(keys.executor))
      yield* run(port, [mcp("POST", bearer(keys.executor), initialize)], record)
      yield* listening({})
      yield* run(port, [mcp("POST", {}, initialize)], record)
      expect([...seen.get("POST /mcp")!]).toEqual([200, 429, 503])
      yield* Effect.scoped(Effect.gen(function*() {
        yield* idleConnections(port, 3)
        const routes = Object.entries(document.paths).flatMap(([route, operations]) =>
          Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path: concrete(route), headers: MCP_ACCEPT }))
        )
        yield* run(port, routes, record)
      }))
      expect(undocumented).toEqual([])
      for (const [key, statuses] of seen) if (key !== "POST /mcp") expect([key, [...statuses]]).toEqual([key, [503]])
    }))
})
