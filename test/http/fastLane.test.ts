import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Fiber, Ref } from "effect"
import { request as httpRequest } from "node:http"
import { sha256Hex } from "../../src/http/auth.js"
import { keys, sendRaw, startServer } from "./fakes.js"

/**
 * The fast lane (src/http/fastLane.ts) takes `GET /health` and
 * `POST /tools/{name}/execute` spelled plainly; the same request with a
 * query string takes the declared HttpApi route. Every answer must be the
 * same either way: status, the headers a client acts on, and the body.
 */

const viewer = "view-key-0123456789"

const patch = {
  auth: {
    require_auth: true,
    api_keys: [
      { id: "exec", sha256: sha256Hex(keys.executor), scopes: ["execute"] as const },
      { id: "viewer", sha256: sha256Hex(viewer), scopes: ["admin"] as const }
    ]
  },
  server: { max_body_bytes: 4096 }
}

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: string
}

const HEADERS = ["content-type", "content-length", "retry-after", "www-authenticate", "connection"] as const

const send = (port: number, method: string, path: string, headers: Record<string, string>, body?: string) =>
  Effect.map(sendRaw(port, method, path, headers, body), (answer): Answer => ({
    ...answer,
    headers: Object.fromEntries(HEADERS.map((name) => [name, answer.headers[name] as string | undefined]))
  }))

/** The same request on the lane's path and on the declared route's (a query string the route ignores). */
const both = (port: number, method: string, path: string, headers: Record<string, string>, body?: string) =>
  Effect.gen(function*() {
    const lane = yield* send(port, method, path, headers, body)
    const declared = yield* send(port, method, `${path}?via=route`, headers, body)
    return { lane, declared }
  })

const json = { "content-type": "application/json" }
const executor = { ...json, authorization: `Bearer ${keys.executor}` }

describe("the fast lane", () => {
  it.scopedLive("answers every execute call as the declared route does", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer(patch)
      const body = (target: string) => JSON.stringify({ target, args: ["-sT"] })
      const cases: ReadonlyArray<readonly [string, Record<string, string>, string | undefined, number]> = [
        ["/tools/NmapTool/execute", executor, body("127.0.0.1"), 200],
        ...(["rejected", "badarg", "intrusive", "invalid", "ratelimited", "circuit", "busy", "spawnfail"] as const).map((
          target
        ) => ["/tools/NmapTool/execute", executor, body(target), 0] as const),
        ["/tools/NmapTool/execute", json, body("127.0.0.1"), 401],
        ["/tools/NmapTool/execute", { ...json, authorization: "Bearer wrong-key-0123456789" }, body("127.0.0.1"), 401],
        ["/tools/NmapTool/execute", { ...json, authorization: "Basic abc" }, body("127.0.0.1"), 401],
        ["/tools/NmapTool/execute", { ...json, authorization: `Bearer ${viewer}` }, body("127.0.0.1"), 403],
        ["/tools/NmapTool/execute", { ...executor, host: "evil.example:80" }, body("127.0.0.1"), 403],
        ["/tools/NmapTool/execute", { ...executor, origin: "http://evil.example" }, body("127.0.0.1"), 403],
        ["/tools/NmapTool/execute", { ...executor, "content-type": "text/plain" }, body("127.0.0.1"), 415],
        ["/tools/NmapTool/execute", executor, "{not json", 400],
        ["/tools/NmapTool/execute", executor, JSON.stringify({ target: "x".repeat(5000) }), 413],
        ["/tools/NoSuchTool/execute", executor, body("127.0.0.1"), 404],
        ["/tools/PingTool/execute", executor, body("127.0.0.1"), 409]
      ]
      for (const [path, headers, payload, status] of cases) {
        const { declared, lane } = yield* both(port, "POST", path, headers, payload)
        expect(lane).toEqual(declared)
        if (status !== 0) expect(lane.status).toBe(status)
        else expect(lane.status).toBeGreaterThanOrEqual(400)
      }
    }))

  it.scopedLive("answers /health as the declared route does, also degraded, unhealthy and draining", () =>
    Effect.gen(function*() {
      const { fake, gate, port } = yield* startServer(patch)
      for (const status of ["healthy", "degraded", "unhealthy"] as const) {
        yield* Ref.set(fake.health, status)
        const { declared, lane } = yield* both(port, "GET", "/health", {})
        expect(lane).toEqual(declared)
        expect(JSON.parse(lane.body).status).toBe(status)
      }
      yield* Effect.fork(gate.drain(Duration.seconds(5)))
      const { declared, lane } = yield* both(port, "GET", "/health", {})
      expect(lane).toEqual(declared)
      expect(lane.status).toBe(503)
      expect(JSON.parse(lane.body).status).toBe("draining")
    }))

  it.scopedLive("takes only the exact GET /health: every other spelling meets the guard and the router", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer(patch)
      const exact = yield* send(port, "GET", "/health", {})
      expect(exact.status).toBe(200)
      // Each is refused by the guard (normal form, a key in the query string) or not found by the router: none is the lane's 200.
      const refused: ReadonlyArray<readonly [string, number]> = [
        [`http://127.0.0.1:${port}/health`, 400],
        ["//health", 400],
        ["/health/", 400],
        ["/health.", 400],
        ["/%68ealth", 400],
        ["/health%2F", 400],
        ["/health?api_key=secret-0123456789", 400],
        ["/health?x=1&key=secret-0123456789", 400],
        ["/Health", 404],
        ["/health/x", 404]
      ]
      for (const [path, status] of refused) {
        const answer = yield* send(port, "GET", path, {})
        expect({ path, status: answer.status, tag: JSON.parse(answer.body).detail._tag }).toEqual({
          path,
          status,
          tag: status === 400 ? "InvalidInput" : "NotFound"
        })
      }
      // Another method on /health (HEAD included) is the router's, exactly as with a query string that takes the declared route.
      for (const method of ["HEAD", "POST", "DELETE"]) {
        const { declared, lane } = yield* both(port, method, "/health", {})
        expect({ method, ...lane }).toEqual({ method, ...declared })
      }
    }))

  it.scopedLive("a client that goes away interrupts its call, as on the declared route", () =>
    Effect.gen(function*() {
      const { fake, port } = yield* startServer(patch)
      const req = httpRequest({
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/tools/NmapTool/execute",
        headers: executor,
        agent: false
      })
      req.on("error", () => undefined)
      req.end(JSON.stringify({ target: "slow" }))
      yield* Deferred.await(fake.started)
      req.destroy()
      const interrupted = yield* Effect.fork(Deferred.await(fake.interrupted))
      expect(yield* Fiber.join(interrupted).pipe(Effect.timeout("10 seconds"))).toBe("exec")
    }))
})
