import { Effect } from "effect"
import http from "node:http"
import { BenchFailed } from "./errors.js"
import { executeBody, request } from "./http.js"
import type { Row } from "./report.js"
import { baselineHttpServer, FLOOD_BYTES, FLOOD_TOOL, memoryOf, ourHttpServer } from "./servers.js"

/**
 * 5. Resident memory of a fresh server idle and after a tool wrote 1 GiB to
 *    stdout: the output cap must keep the peak near the idle figure.
 */

const SETTLE_MS = 1000

interface FloodReply {
  readonly returncode: number | null
  readonly truncated_stdout: boolean
  readonly stdout: string
  readonly execution_time: number
}

export const memoryBench = Effect.gen(function*() {
  const server = yield* ourHttpServer()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
  const health = yield* request(agent, server.port, { method: "GET", path: "/health" }, "health")
  const bare = yield* baselineHttpServer(health.body, "{}")
  yield* request(agent, bare.port, { method: "GET", path: "/health" }, "bare health")
  yield* Effect.sleep(SETTLE_MS)
  const idle = memoryOf(server.pid)
  const bareIdle = memoryOf(bare.pid)
  const reply = yield* request(
    agent,
    server.port,
    { method: "POST", path: `/tools/${FLOOD_TOOL}/execute`, body: executeBody("127.0.0.1") },
    FLOOD_TOOL
  )
  if (reply.status !== 200) {
    return yield* new BenchFailed({ step: FLOOD_TOOL, message: `HTTP ${reply.status}: ${reply.body.slice(0, 500)}` })
  }
  const flood = JSON.parse(reply.body) as FloodReply
  if (!flood.truncated_stdout) {
    return yield* new BenchFailed({ step: FLOOD_TOOL, message: "the flood was not truncated: the output cap did not apply" })
  }
  const after = memoryOf(server.pid)
  const rows: ReadonlyArray<Row> = [
    { name: "server RSS idle", unit: "MB", ours: idle.rssMb, baseline: bareIdle.rssMb, baselineLabel: "bare node:http idle", target: null },
    {
      name: "server peak RSS (VmHWM) after 1 GiB flood",
      unit: "MB",
      ours: after.hwmMb,
      baseline: idle.rssMb,
      baselineLabel: "idle RSS",
      target: null
    }
  ]
  const details = {
    floodBytes: FLOOD_BYTES,
    bareNodeHttpIdle: { rssMb: Number(bareIdle.rssMb.toFixed(1)) },
    idle: { rssMb: Number(idle.rssMb.toFixed(1)), hwmMb: Number(idle.hwmMb.toFixed(1)) },
    afterFlood: { rssMb: Number(after.rssMb.toFixed(1)), hwmMb: Number(after.hwmMb.toFixed(1)) },
    floodCall: {
      ms: Number(reply.ms.toFixed(1)),
      executionTimeSeconds: flood.execution_time,
      returncode: flood.returncode,
      keptStdoutBytes: Buffer.byteLength(flood.stdout),
      truncated: flood.truncated_stdout
    }
  }
  return { rows, details }
})
