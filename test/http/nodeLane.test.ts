import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Logger, Metric, Queue } from "effect"
import { createServer } from "node:http"
import { type AddressInfo, connect, type Socket } from "node:net"
import { type DeepPartial } from "../../src/config/ConfigService.js"
import type { AppConfig } from "../../src/config/schema.js"
import type { TimedEvent } from "../../src/events/Events.js"
import { sha256Hex } from "../../src/http/auth.js"
import { HttpServerLive } from "../../src/http/HttpServerLive.js"
import { makeNodeLane } from "../../src/http/nodeLane.js"
import { AuditBatch, AuditMessage } from "../../src/observability/Logger.js"
import { policyRejections } from "../../src/observability/metrics.js"
import { makeHarness } from "../execution/support.js"
import { info, makeFakeWith, type RawAnswer, sendRaw as send } from "./fakes.js"

/**
 * The Node lane (src/http/nodeLane.ts) answers plainly refused execute calls
 * and `GET /health` before the platform. Against the real executor (only the
 * process runner is fake), every answer it gives must be the declared
 * route's — status, headers, body — with the same audit line, event and
 * metric; every other request must reach the platform (`next`) untouched,
 * with its body, when the lane read it, handed over.
 */

const executorKey = "exec-key-0123456789"
const ownListKey = "own-list-key-0123456789"
const viewerKey = "view-key-0123456789"

const patch: DeepPartial<typeof AppConfig.Encoded> = {
  rate_limit: { enabled: false },
  server: { host: "127.0.0.1", port: 0, max_body_bytes: 4096 },
  tools: { PingTool: { enabled: false } },
  auth: {
    require_auth: true,
    api_keys: [
      { id: "exec", sha256: sha256Hex(executorKey), scopes: ["execute"] },
      { id: "own", sha256: sha256Hex(ownListKey), scopes: ["execute"], allowed_targets: ["127.0.0.2/32"] },
      { id: "viewer", sha256: sha256Hex(viewerKey), scopes: ["admin"] }
    ]
  }
}

const json = { "content-type": "application/json" }
const as = (key: string) => ({ ...json, authorization: `Bearer ${key}` })
const call = (target: string, extra: Record<string, unknown> = {}) => JSON.stringify({ target, ...extra })

/** Refusals the plain steps decide, each with the key it is made with. */
const refusals: ReadonlyArray<readonly [string, string, Record<string, string>, string, string]> = [
  ["public address", "NmapTool", as(executorKey), call("8.8.8.8"), "TargetRejected"],
  ["public network", "NmapTool", as(executorKey), call("8.8.8.0/24"), "TargetRejected"],
  ["reserved name", "NmapTool", as(executorKey), call("nowhere.invalid"), "TargetRejected"],
  ["outside the key's own list", "NmapTool", as(ownListKey), call("127.0.0.3"), "TargetRejected"],
  ["forbidden flag", "NmapTool", as(executorKey), call("127.0.0.1", { args: ["-oN", "/tmp/x"] }), "ArgumentRejected"],
  ["intrusive script", "NmapTool", as(executorKey), call("127.0.0.1", { args: ["--script", "vuln"] }), "IntrusiveNotAllowed"],
  ["unknown template", "NmapTool", as(executorKey), call("127.0.0.1", { template: "nope" }), "InvalidInput"],
  ["malformed input", "NmapTool", as(executorKey), call("127.0.0.1", { bogus: 1 }), "InvalidInput"],
  ["disabled tool", "PingTool", as(executorKey), call("127.0.0.1"), "ToolDisabled"]
]

/** The real executor behind the real HTTP server; fakes only for what the executor does not use (health, schedules). */
const realServer = (extra: DeepPartial<typeof AppConfig.Encoded> = {}) =>
  Effect.gen(function*() {
    const harness = yield* makeHarness({ ...patch, ...extra })
    const { layer } = yield* makeFakeWith()
    const real = Layer.succeedContext(harness.context)
    const context = yield* Layer.build(
      HttpServerLive(info).pipe(Layer.provideMerge(real), Layer.provideMerge(layer), Layer.provide(real))
    ).pipe(Effect.orDie)
    const { address } = Context.get(context, HttpServer.HttpServer)
    return { harness, port: address._tag === "TcpAddress" ? address.port : 0 }
  })

/** What differs between two runs of the same call. */
const perRun = ["started_at", "finished_at", "execution_time", "scan_id"]

const sans = (record: Record<string, unknown>, keys: ReadonlyArray<string>) =>
  Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)))

/** What a refusal leaves besides its answer: the audit lines and events since `from`, without what differs per call. */
const traces = (harness: Effect.Effect.Success<ReturnType<typeof makeHarness>>, from: number) =>
  Effect.gen(function*() {
    const lines = (yield* harness.audit).slice(from)
    const events: ReadonlyArray<TimedEvent> = [...yield* Queue.takeAll(harness.events)]
    return {
      lines: lines.map((line) => sans(line, ["timestamp", "correlation_id", "execution_id", "duration_seconds"])),
      events: events.map((event) => sans(event as never, ["timestamp", "correlationId", "durationSeconds"]))
    }
  })

const rejected = (tool: string, rule: string) =>
  Metric.value(Metric.tagged(Metric.tagged(policyRejections, "tool", tool), "rule", rule)).pipe(Effect.map((state) => state.count))

/** The lane alone in front of a `next` that records what reaches it and answers 599, over the real executor. */
const laneAlone = (config: DeepPartial<typeof AppConfig.Encoded>, refused: (socket: Socket) => boolean) =>
  Effect.gen(function*() {
    const harness = yield* makeHarness(config)
    // Until the stored operator switches are applied, every call is the executor's to decide (it waits for them).
    yield* harness.executor.list
    const { layer } = yield* makeFakeWith()
    const real = Layer.succeedContext(harness.context)
    const context = Context.merge(yield* Layer.build(layer.pipe(Layer.provide(real))), harness.context)
    const passed: Array<string> = []
    const lane = yield* makeNodeLane(0, refused).pipe(Effect.provide(context))
    const node = createServer(lane((request, response) => {
      passed.push(`${request.method} ${request.url}`)
      request.resume()
      response.writeHead(599, { "content-length": "0" }).end()
    }))
    yield* Effect.acquireRelease(
      Effect.async<void>((resume) => void node.listen(0, "127.0.0.1", () => resume(Effect.void))),
      () => Effect.sync(() => node.close())
    )
    return { harness, passed, port: (node.address() as AddressInfo).port }
  })

describe("the Node lane", () => {
  it.scopedLive("answers each plain refusal as the declared route does, with the same audit line, event and metric", () =>
    Effect.gen(function*() {
      const { harness, port } = yield* realServer()
      yield* Queue.takeAll(harness.events)
      for (const [name, tool, headers, body, tag] of refusals) {
        const path = `/tools/${tool}/execute`
        const rule = JSON.parse((yield* send(port, "POST", `${path}?via=warmup`, headers, body)).body).detail.rule ?? tag
        yield* traces(harness, 0)
        const counted = yield* rejected(tool, rule)
        const before = (yield* harness.audit).length
        const lane = yield* send(port, "POST", path, headers, body)
        const laneTraces = yield* traces(harness, before)
        const afterLane = yield* rejected(tool, rule)
        const between = (yield* harness.audit).length
        const declared = yield* send(port, "POST", `${path}?via=route`, headers, body)
        const declaredTraces = yield* traces(harness, between)
        expect({ name, ...lane }).toEqual({ name, ...declared })
        expect(JSON.parse(lane.body).detail._tag).toBe(tag)
        expect(laneTraces).toEqual(declaredTraces)
        expect(laneTraces.lines).toMatchObject([{ decision: `rejected:${tag}`, outcome: "rejected" }])
        expect(laneTraces.events).toMatchObject([{ type: "execution.finished", outcome: "rejected", errorType: tag }])
        expect([afterLane - counted, (yield* rejected(tool, rule)) - afterLane]).toEqual([1, 1])
      }
      // /health: every header (but the date) and the body, as the declared route's.
      const health = yield* send(port, "GET", "/health", {})
      expect(health).toEqual(yield* send(port, "GET", "/health?via=route", {}))
      expect(health.status).toBe(200)
    }))

  it.scopedLive("without an audit file, logs a refusal's audit line as the declared route does", () => {
    const logged: Array<string> = []
    const capture = Logger.make(({ message }) => {
      for (const m of Array.isArray(message) ? message : [message]) {
        if (m instanceof AuditBatch) logged.push(...m.lines)
        else if (m instanceof AuditMessage) logged.push(m.line)
      }
    })
    const since = (from: number) =>
      logged.slice(from).map((line) => sans(JSON.parse(line), ["timestamp", "correlation_id", "execution_id", "duration_seconds"]))
    return Effect.gen(function*() {
      const { harness, port } = yield* realServer({ security: { audit_log_path: "" } })
      for (const [name, tool, headers, body, tag] of refusals) {
        const path = `/tools/${tool}/execute`
        yield* send(port, "POST", `${path}?via=warmup`, headers, body)
        yield* Effect.sleep("30 millis")
        const before = logged.length
        const lane = yield* send(port, "POST", path, headers, body)
        yield* Effect.sleep("30 millis")
        const between = logged.length
        const declared = yield* send(port, "POST", `${path}?via=route`, headers, body)
        yield* Effect.sleep("30 millis")
        expect({ name, ...lane }).toEqual({ name, ...declared })
        expect(since(before).slice(0, between - before)).toEqual(since(between))
        expect(since(between)).toMatchObject([{ decision: `rejected:${tag}`, outcome: "rejected" }])
      }
      // Nothing went to the file.
      expect(yield* harness.audit).toEqual([])
    }).pipe(Effect.provide(Logger.add(capture)))
  })

  it.scopedLive("hands every call it does not refuse on, its body read once: accepted, not JSON, too large, refused by planning", () =>
    Effect.gen(function*() {
      const { harness, port } = yield* realServer()
      const cases: ReadonlyArray<readonly [string, string, string | undefined, number]> = [
        ["accepted", "/tools/NmapTool/execute", call("127.0.0.1"), 200],
        ["not JSON", "/tools/NmapTool/execute", "{not json", 400],
        ["too large", "/tools/NmapTool/execute", call("x".repeat(5000)), 413],
        ["unknown tool", "/tools/NoSuchTool/execute", call("127.0.0.1"), 404],
        ["a name to resolve", "/tools/NmapTool/execute", call("nowhere.lab.internal"), 400]
      ]
      for (const [name, path, body, status] of cases) {
        const lane = yield* send(port, "POST", path, as(executorKey), body)
        const declared = yield* send(port, "POST", `${path}?via=route`, as(executorKey), body)
        const normal = (answer: RawAnswer) => ({ ...answer, body: sans(JSON.parse(answer.body), ["correlation_id", "duration_seconds"]) })
        expect({ name, status: lane.status }).toEqual({ name, status })
        if (status !== 200) expect({ name, ...lane }).toEqual({ name, ...declared })
        else expect(sans(normal(lane).body, perRun)).toEqual(sans(normal(declared).body, perRun))
      }
      expect((yield* harness.fake.requests).length).toBe(2)
    }))

  it.scopedLive("takes only the exact spellings on connections within the limits; the rest reaches the platform", () =>
    Effect.gen(function*() {
      let refusedPort = -1
      const { harness, passed, port } = yield* laneAlone(patch, (socket) => socket.remotePort === refusedPort)
      // Host checks use the bound port: 0 here, so every request names port 0.
      const host = { host: "127.0.0.1:0" }
      const exec = { ...as(executorKey), ...host }
      const taken = yield* send(port, "POST", "/tools/NmapTool/execute", exec, call("8.8.8.8"))
      expect(taken.status).toBe(400)
      expect((yield* send(port, "GET", "/health", {})).status).toBe(200)
      expect(passed).toEqual([])
      const others: ReadonlyArray<readonly [string, string, Record<string, string>, string | undefined]> = [
        ["POST", "/tools/NmapTool/execute?x=1", exec, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute/", exec, call("8.8.8.8")],
        ["POST", "/tools/%4EmapTool/execute", exec, call("8.8.8.8")],
        ["POST", "//tools/NmapTool/execute", exec, call("8.8.8.8")],
        ["PUT", "/tools/NmapTool/execute", exec, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute", exec, "{not json"],
        ["POST", "/tools/NmapTool/execute", exec, call("x".repeat(5000))],
        ["POST", "/tools/NmapTool/execute", { ...exec, "content-type": "text/plain" }, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute", { ...json, ...host }, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute", { ...as("wrong-key-0123456789"), ...host }, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute", { ...as(viewerKey), ...host }, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute", { ...exec, host: "evil.example:0" }, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute", { ...exec, origin: "http://evil.example" }, call("8.8.8.8")],
        ["POST", "/tools/NmapTool/execute", exec, call("127.0.0.1")],
        ["POST", "/tools/NoSuchTool/execute", exec, call("8.8.8.8")],
        ["GET", "/health?x=1", {}, undefined],
        ["GET", "/health/", {}, undefined],
        ["GET", "/%68ealth", {}, undefined],
        ["HEAD", "/health", {}, undefined],
        ["POST", "/health", {}, undefined],
        ["GET", "/tools/NmapTool/execute", exec, undefined]
      ]
      for (const [method, path, headers, body] of others) {
        passed.length = 0
        const answer = yield* send(port, method, path, headers, body)
        expect({ method, path, status: answer.status, passed }).toEqual({ method, path, status: 599, passed: [`${method} ${path}`] })
      }
      expect((yield* harness.audit).filter((line) => line["caller_id"] === "exec")).toHaveLength(1)
      // A connection over the limits is the platform's (its 503), whatever it asks.
      passed.length = 0
      const socket = connect(port, "127.0.0.1")
      yield* Effect.async<void>((resume) => void socket.once("connect", () => resume(Effect.void)))
      refusedPort = socket.localPort ?? -2
      socket.resume()
      socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1:0\r\nConnection: close\r\n\r\n")
      yield* Effect.async<void>((resume) => void socket.once("close", () => resume(Effect.void)))
      expect(passed).toEqual(["GET /health"])
    }))

  it.scopedLive("hands calls on while rate limits apply, and leaves a client that goes away mid-body unanswered and unaudited", () =>
    Effect.gen(function*() {
      const { harness, passed, port } = yield* laneAlone({ ...patch, rate_limit: { enabled: true } }, () => false)
      const exec = { ...as(executorKey), host: "127.0.0.1:0" }
      expect((yield* send(port, "POST", "/tools/NmapTool/execute", exec, call("8.8.8.8"))).status).toBe(599)
      expect(passed).toHaveLength(1)
      const socket = connect(port, "127.0.0.1")
      yield* Effect.async<void>((resume) => void socket.once("connect", () => resume(Effect.void)))
      socket.write(
        `POST /tools/NmapTool/execute HTTP/1.1\r\nHost: 127.0.0.1:0\r\nAuthorization: Bearer ${executorKey}\r\n` +
          "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"target\":"
      )
      yield* Effect.sleep("100 millis")
      socket.destroy()
      yield* Effect.sleep("100 millis")
      expect(passed).toHaveLength(1)
      expect(yield* harness.audit).toEqual([])
    }))
})
