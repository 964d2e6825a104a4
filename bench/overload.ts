import { Effect } from "effect"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { auditLine } from "../src/observability/AuditLog.js"
import { BenchFailed } from "./errors.js"
import { executeBody, type RequestSpec } from "./http.js"
import { frame, type LoadResult, runLoad, serialise } from "./load.js"
import type { Row } from "./report.js"
import { baselineHttpServer, memoryOf, ourHttpServer, TRUE_TOOL } from "./servers.js"

/**
 * Overload (the hardening issue's rows):
 * - 1,000 REST calls at once, each on its own connection, far over
 *   `server.max_connections`: every call must be answered (a status and a
 *   whole body: 200, or 503 with the typed body) and none reset, with the
 *   server's peak RSS within 250 MB; the baseline is a bare node:http server
 *   under the same burst.
 * - A flood of rejected calls from one client under the shipped rate limits
 *   (a made-up tool name: 404 within the client's burst, 429 past it):
 *   throughput at 16 connections against bare node:http, and the audit bytes
 *   one rejection costs against a full audit line per rejection.
 */

const BURST_CALLS = 1000
const FLOOD_MS = 5000
const FLOOD_CONNECTIONS = 16
const RSS_TARGET_MB = 250

interface BurstResult {
  readonly statuses: Readonly<Record<string, number>>
  /** Connections that ended without a whole response: reset, refused or closed early. */
  readonly unanswered: number
}

/** One request on a connection of its own; resolves with its status, or with why it got none. */
const once = (port: number, request: Buffer) =>
  new Promise<number | string>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port })
    let pending = Buffer.alloc(0)
    let done = false
    const finish = (result: number | string) => {
      if (done) return
      done = true
      socket.destroy()
      resolve(result)
    }
    socket.on("connect", () => socket.write(request))
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk])
      const reply = frame(pending)
      if (reply !== undefined) finish(reply.status)
    })
    socket.on("error", (error: NodeJS.ErrnoException) => finish(error.code ?? error.message))
    socket.on("close", () => finish("closed without an answer"))
  })

const burst = (port: number, spec: RequestSpec): Promise<BurstResult> =>
  Promise.all(Array.from({ length: BURST_CALLS }, () => once(port, serialise(port, spec)))).then((results) => {
    const statuses: Record<string, number> = {}
    let unanswered = 0
    for (const result of results) {
      if (typeof result === "number") statuses[result] = (statuses[result] ?? 0) + 1
      else unanswered += 1
    }
    return { statuses, unanswered }
  })

const concurrentCalls = Effect.gen(function*() {
  const spec: RequestSpec = { method: "POST", path: `/tools/${TRUE_TOOL}/execute`, body: executeBody("127.0.0.1") }
  const server = yield* ourHttpServer()
  const bare = yield* baselineHttpServer("{}", "{}")
  const ours = yield* Effect.promise(() => burst(server.port, spec))
  const baseline = yield* Effect.promise(() => burst(bare.port, spec))
  if (ours.unanswered > 0) {
    return yield* new BenchFailed({ step: "1,000 concurrent calls", message: `${ours.unanswered} calls got no answer` })
  }
  const row: Row = {
    name: `${BURST_CALLS.toLocaleString("en-US")} concurrent REST calls, peak RSS`,
    unit: "MB",
    ours: memoryOf(server.pid).hwmMb,
    baseline: memoryOf(bare.pid).hwmMb,
    baselineLabel: "bare node:http, same burst",
    target: { on: "ours", max: RSS_TARGET_MB },
    note: `every call answered, none reset: ${JSON.stringify(ours.statuses)}`
  }
  return { row, details: { ours, baseline } }
})

const flood = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "bench-flood-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const audit = join(dir, "audit.jsonl")
  const server = yield* ourHttpServer({
    shippedDefaults: true,
    env: { MCP_RATE_LIMIT_ENABLED: "true", MCP_SECURITY_AUDIT_LOG_PATH: audit, MCP_SECURITY_AUDIT_REJECTIONS_INTERVAL: "1" }
  })
  const spec: RequestSpec = { method: "POST", path: "/tools/NoSuchTool/execute", body: executeBody("127.0.0.1") }
  const bare = yield* baselineHttpServer("{}", "{\"detail\":{\"_tag\":\"RateLimited\"}}")
  const ours: LoadResult = yield* Effect.promise(() => runLoad(server.port, spec, FLOOD_CONNECTIONS, FLOOD_MS))
  const baseline: LoadResult = yield* Effect.promise(() => runLoad(bare.port, spec, FLOOD_CONNECTIONS, FLOOD_MS))
  // The aggregated lines are written once per interval: give the last one time to land.
  yield* Effect.sleep("2500 millis")
  const bytesPerRejection = statSync(audit).size / ours.requests
  const fullLine = Buffer.byteLength(auditLine({
    caller: { id: "anonymous@127.0.0.1", transport: "http", address: "127.0.0.1" },
    tool: "NoSuchTool",
    target: "127.0.0.1",
    resolvedTarget: null,
    argv: [],
    decision: "rejected:RateLimited",
    outcome: "rejected",
    durationSeconds: 0.0001,
    intrusive: false,
    correlationId: "00000000-0000-0000-0000-000000000000",
    executionId: "00000000-0000-0000-0000-000000000000",
    error: { tag: "RateLimited", message: "Rate limit of 60 calls per minute exceeded for client:anonymous@127.0.0.1; retry in 1 s" }
  }, new Date().toISOString()))
  const rows: ReadonlyArray<Row> = [
    {
      name: `rejected-call flood (made-up tool, rate-limited), ${FLOOD_CONNECTIONS} conn, throughput`,
      unit: "req/s",
      ours: ours.rps,
      baseline: baseline.rps,
      baselineLabel: "bare node:http",
      target: null,
      note: `statuses ${JSON.stringify(ours.statuses)}`
    },
    {
      name: "rejected-call flood, audit bytes per rejection",
      unit: "B",
      ours: bytesPerRejection,
      baseline: fullLine,
      baselineLabel: "one full audit line per rejection",
      target: { on: "ours", max: 64 }
    }
  ]
  return { rows, details: { ours: { ...ours, auditBytes: statSync(audit).size }, baseline } }
})

export const overloadBench = Effect.gen(function*() {
  const calls = yield* Effect.scoped(concurrentCalls)
  const rejected = yield* Effect.scoped(flood)
  return { rows: [calls.row, ...rejected.rows], details: { concurrentCalls: calls.details, flood: rejected.details } }
})
