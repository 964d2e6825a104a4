import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Layer, Redacted, type Scope } from "effect"
import { execFile } from "node:child_process"
import { createServer } from "node:net"
import { performance } from "node:perf_hooks"
import { BenchFailed } from "./errors.js"
import type { Row } from "./report.js"
import { ourHttpServer } from "./servers.js"

/**
 * 8. Scheduled targets one PostgreSQL-backed deployment keeps up with: 48
 *    schedules, one per loopback target (127.0.0.1 … 127.0.0.48, one open
 *    port each, nmap -n -sT -Pn), created through the REST API of the built
 *    server on a fresh PostgreSQL database; ours is the wall time from the
 *    first schedule created to the last run stored, per target. The baseline
 *    runs the same 48 nmap commands directly, as many at a time as the
 *    scheduler runs (watch.max_concurrent_runs). Their ratio is what claiming,
 *    leasing, the executor's policy and audit, storing and diffing add; the
 *    note turns our figure into targets per five-minute interval.
 */

const TARGETS = 48
const CONCURRENT = 4
const INTERVAL_SECONDS = 300

const PG_ADMIN_URL = process.env["MCP_BENCH_PG_URL"] ?? process.env["MCP_TEST_PG_URL"] ??
  "postgres://mcp_test:mcp_test@127.0.0.1:5432/postgres"

const admin = Layer.scoped(
  SqlClient.SqlClient,
  PgClient.make({ url: Redacted.make(PG_ADMIN_URL), connectTimeout: Duration.seconds(3), maxConnections: 1 })
).pipe(Layer.provide(Reactivity.layer))

/** A fresh database, dropped with the scope. */
const database: Effect.Effect<string, BenchFailed, Scope.Scope> = Effect.gen(function*() {
  const name = `mcp_bench_watch_${process.pid}_${Date.now().toString(36)}`
  const run = (statement: string) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe(statement)).pipe(
      Effect.provide(admin),
      Effect.mapError((e) =>
        new BenchFailed({ step: "watch", message: `PostgreSQL at ${PG_ADMIN_URL.replace(/:[^:@/]*@/, ":***@")}: ${String(e)}` })
      )
    )
  yield* Effect.acquireRelease(run(`CREATE DATABASE ${name}`), () => Effect.ignore(run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
})

/** One listener on every loopback address: 127.0.0.1 … 127.0.0.48 each have the port open. */
const listener = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly close: () => void }>((resume) => {
    const server = createServer((socket) => {
      socket.on("error", () => undefined)
      socket.end()
    })
    server.listen(
      0,
      "0.0.0.0",
      () => resume(Effect.succeed({ port: (server.address() as { port: number }).port, close: () => server.close() }))
    )
  }),
  (l) => Effect.sync(l.close)
)

const request = (port: number, method: string, path: string, body?: unknown) =>
  Effect.tryPromise({
    try: () =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
      }).then((r) => r.json() as Promise<any>),
    catch: (e) => new BenchFailed({ step: "watch", message: String(e) })
  })

const argsFor = (port: number) => ["-n", "-sT", "-Pn", "-p", String(port)]

const ourRun = (port: number, serverPort: number) =>
  Effect.gen(function*() {
    const t0 = performance.now()
    for (let i = 1; i <= TARGETS; i++) {
      yield* request(serverPort, "POST", "/schedules", {
        name: `bench-${i}`,
        tool: "NmapTool",
        target: `127.0.0.${i}`,
        args: argsFor(port),
        interval: 3600
      })
    }
    for (;;) {
      const all = (yield* request(serverPort, "GET", "/schedules")) as ReadonlyArray<any>
      const done = all.filter((s) => s.recent_runs.some((r: any) => r.status === "succeeded")).length
      if (done >= TARGETS) break
      if (performance.now() - t0 > 300_000) return yield* new BenchFailed({ step: "watch", message: `only ${done} of ${TARGETS} ran` })
      yield* Effect.sleep(Duration.millis(50))
    }
    return (performance.now() - t0) / TARGETS
  })

const nmap = (target: string, port: number) =>
  Effect.async<void>((resume) => {
    execFile("nmap", [...argsFor(port), "-oX", "-", target], () => resume(Effect.void))
  })

const baselineRun = (port: number) =>
  Effect.gen(function*() {
    const t0 = performance.now()
    yield* Effect.forEach(Array.from({ length: TARGETS }, (_, i) => `127.0.0.${i + 1}`), (t) => nmap(t, port), {
      concurrency: CONCURRENT,
      discard: true
    })
    return (performance.now() - t0) / TARGETS
  })

export const watchBench = Effect.gen(function*() {
  const url = yield* database
  const { port } = yield* listener
  const server = yield* ourHttpServer({
    env: {
      MCP_STORAGE_URL: url,
      MCP_WATCH_POLL_INTERVAL: "0.1",
      MCP_WATCH_MAX_CONCURRENT_RUNS: String(CONCURRENT),
      MCP_TOOL_DEFAULT_CONCURRENCY: String(CONCURRENT),
      MCP_TOOLS: JSON.stringify({ NmapTool: { concurrency: CONCURRENT } })
    }
  })
  const baseline = yield* baselineRun(port)
  const ours = yield* ourRun(port, server.port)
  const row: Row = {
    name: `scheduled scan of one loopback target on PostgreSQL (${TARGETS} targets, ${CONCURRENT} at a time), per target`,
    unit: "ms",
    ours,
    baseline,
    baselineLabel: `the same nmap runs, ${CONCURRENT} at a time`,
    target: { on: "ratio", max: 3 },
    note: `one instance keeps up with about ${Math.floor((INTERVAL_SECONDS * 1000) / ours)} such targets per ${
      INTERVAL_SECONDS / 60
    }-minute interval; instances add up (each run is claimed by one)`
  }
  return { rows: [row] }
})
