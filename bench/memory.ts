import { Effect } from "effect"
import http from "node:http"
import { BenchFailed } from "./errors.js"
import { executeBody, request } from "./http.js"
import { processMemory, processTree, type TreeMemory, treeMemory } from "./procfs.js"
import type { Row } from "./report.js"
import { baselineHttpServer, FLOOD_BYTES, FLOOD_TOOL, memoryOf, ourHttpServer } from "./servers.js"
import { stdioServer } from "./stdio.js"

/**
 * Memory of the server and every helper process it has (the spawner while
 * tools run), summed: just started, idle, while a scan runs, and the peak
 * after a tool wrote 1 GiB to stdout (the output cap must keep it near idle).
 * RSS counts the pages of the node binary that both processes map once for
 * each; PSS shares them out, so it is the honest sum of what they add; both
 * are reported, the target applies to RSS.
 *
 * Idle means what an idle server settles to: 35 s after start-up with no
 * call, when the spawner has left (10 s after the last tool: the version
 * probes at start-up) and V8 has given back the nursery start-up grew. The
 * figure 5 s after start-up is a row of its own.
 */

const JUST_STARTED_MS = 5_000
const IDLE_AFTER_MS = 35_000
/** A scan that takes about 2 s: 20 ports, 100 ms apart. */
const SLOW_SCAN = ["-sT", "-p", "1-20", "--scan-delay", "100ms"]

const round = (tree: TreeMemory) => ({
  rssMb: Number(tree.rssMb.toFixed(1)),
  pssMb: Number(tree.pssMb.toFixed(1)),
  processes: tree.processes.map((p) => ({ ...p, rssMb: Number(p.rssMb.toFixed(1)), pssMb: Number(p.pssMb.toFixed(1)) }))
})

/** The server and its Node helpers, without the tool processes of a call in flight. */
const serverAndHelpers = (pid: number): TreeMemory => {
  const processes = processTree(pid).map(processMemory).filter((p) => Number.isFinite(p.rssMb) && /\bnode\b/.test(p.command))
  return { processes, rssMb: processes.reduce((s, p) => s + p.rssMb, 0), pssMb: processes.reduce((s, p) => s + p.pssMb, 0) }
}

const memoryRow = (name: string, tree: TreeMemory, bareMb: number, target: Row["target"]): Row => ({
  name,
  unit: "MB",
  ours: tree.rssMb,
  baseline: bareMb,
  baselineLabel: "bare node:http idle",
  target,
  note: `${tree.processes.length} process${tree.processes.length === 1 ? "" : "es"} (${
    tree.processes.map((p) => `${p.rssMb.toFixed(1)}`).join(" + ")
  } MB RSS); PSS ${tree.pssMb.toFixed(1)} MB`
})

/** Fresh servers over HTTP and stdio and a bare node:http, side by side, measured just started and idle. */
const idle = Effect.scoped(Effect.gen(function*() {
  const started = performance.now()
  const httpServer = yield* ourHttpServer({ shippedDefaults: true })
  const stdio = yield* stdioServer()
  const agent = new http.Agent({ keepAlive: false })
  const health = yield* request(agent, httpServer.port, { method: "GET", path: "/health" }, "health")
  yield* stdio.request("tools/list", {})
  const bare = yield* baselineHttpServer(health.body, "{}")
  yield* request(agent, bare.port, { method: "GET", path: "/health" }, "bare health")
  yield* Effect.sleep(Math.max(0, JUST_STARTED_MS - (performance.now() - started)))
  const justStarted = { http: treeMemory(httpServer.pid), stdio: treeMemory(stdio.pid) }
  yield* Effect.sleep(Math.max(0, IDLE_AFTER_MS - (performance.now() - started)))
  return {
    justStarted,
    idle: { http: treeMemory(httpServer.pid), stdio: treeMemory(stdio.pid) },
    bare: memoryOf(bare.pid).rssMb
  }
}))

/** Server and spawner while a scan runs, then the peak after a 1 GiB flood. */
const busy = Effect.scoped(Effect.gen(function*() {
  const server = yield* ourHttpServer()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2 })
  yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
  const scan = yield* Effect.fork(
    request(agent, server.port, { method: "POST", path: "/tools/NmapTool/execute", body: executeBody("127.0.0.1", SLOW_SCAN) }, "slow scan")
  )
  yield* Effect.sleep(1000)
  const duringScan = serverAndHelpers(server.pid)
  yield* scan.await
  const reply = yield* request(
    agent,
    server.port,
    { method: "POST", path: `/tools/${FLOOD_TOOL}/execute`, body: executeBody("127.0.0.1") },
    FLOOD_TOOL
  )
  if (reply.status !== 200) {
    return yield* new BenchFailed({ step: FLOOD_TOOL, message: `HTTP ${reply.status}: ${reply.body.slice(0, 500)}` })
  }
  const flood = JSON.parse(reply.body) as { readonly truncated_stdout: boolean; readonly stdout: string; readonly execution_time: number }
  if (!flood.truncated_stdout) {
    return yield* new BenchFailed({ step: FLOOD_TOOL, message: "the flood was not truncated: the output cap did not apply" })
  }
  return {
    duringScan,
    afterFlood: memoryOf(server.pid),
    flood: { ms: Number(reply.ms.toFixed(1)), executionTimeSeconds: flood.execution_time, keptStdoutBytes: Buffer.byteLength(flood.stdout) }
  }
}))

export const memoryBench = Effect.gen(function*() {
  const quiet = yield* idle
  const load = yield* busy
  const target = { on: "ours", max: 80, source: "issue 19, RSS of server + helpers" } as const
  const rows: ReadonlyArray<Row> = [
    memoryRow("RSS idle (35 s after start-up), HTTP server + helpers", quiet.idle.http, quiet.bare, target),
    memoryRow("RSS idle (35 s after start-up), stdio server + helpers", quiet.idle.stdio, quiet.bare, target),
    memoryRow("RSS 5 s after start-up, HTTP server + helpers", quiet.justStarted.http, quiet.bare, null),
    memoryRow("RSS while a scan runs, HTTP server + spawner", load.duringScan, quiet.bare, null),
    {
      name: "peak RSS (VmHWM) of the HTTP server after a 1 GiB tool output",
      unit: "MB",
      ours: load.afterFlood.hwmMb,
      baseline: quiet.bare,
      baselineLabel: "bare node:http idle",
      target: null,
      note: `output kept ${load.flood.keptStdoutBytes} bytes (capped); the call took ${load.flood.ms} ms`
    }
  ]
  const details = {
    floodBytes: FLOOD_BYTES,
    bareNodeHttpIdleRssMb: Number(quiet.bare.toFixed(1)),
    justStarted: { http: round(quiet.justStarted.http), stdio: round(quiet.justStarted.stdio) },
    idle: { http: round(quiet.idle.http), stdio: round(quiet.idle.stdio) },
    duringScan: round(load.duringScan),
    afterFlood: { rssMb: Number(load.afterFlood.rssMb.toFixed(1)), hwmMb: Number(load.afterFlood.hwmMb.toFixed(1)) },
    flood: load.flood
  }
  return { rows, details }
})
