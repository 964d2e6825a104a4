import { Effect } from "effect"
import http from "node:http"
import { BenchFailed } from "./errors.js"
import { executeBody, request, type RequestSpec } from "./http.js"
import { type LoadResult, runLoad } from "./load.js"
import type { Row } from "./report.js"
import { baselineHttpServer, type RunningServer, TRUE_TOOL } from "./servers.js"

/**
 * 4. Closed-loop HTTP load on /health and on executions refused by the target
 *    policy (8.8.8.8 is public: refused before anything runs or is sent), against
 *    a bare node:http child answering with the same bodies.
 */

const DURATION_MS = 5000
const WARMUP_MS = 1000
const CONNECTIONS = [1, 16] as const

/** Figures of the Python implementation this server replaces, measured elsewhere on this machine class. */
export const pythonReference = { health: { 1: 4100, 16: 5000 } } as const

const health: RequestSpec = { method: "GET", path: "/health" }
const rejected: RequestSpec = { method: "POST", path: `/tools/${TRUE_TOOL}/execute`, body: executeBody("8.8.8.8") }

const load = (port: number, spec: RequestSpec, connections: number) =>
  Effect.promise(async () => {
    await runLoad(port, spec, connections, WARMUP_MS)
    return runLoad(port, spec, connections, DURATION_MS)
  })

const roundedLoad = (r: LoadResult) => ({
  ...r,
  seconds: Number(r.seconds.toFixed(3)),
  rps: Math.round(r.rps),
  latencyMs: {
    p50: Number(r.latencyMs.median.toFixed(3)),
    p99: Number(r.latencyMs.p99.toFixed(3)),
    max: Number(r.latencyMs.max.toFixed(3))
  }
})

export const throughputBench = (server: RunningServer) =>
  Effect.gen(function*() {
    const agent = new http.Agent({ keepAlive: false })
    const healthReply = yield* request(agent, server.port, health, "health body")
    const rejectReply = yield* request(agent, server.port, rejected, "rejected body")
    if (rejectReply.status !== 400) {
      return yield* new BenchFailed({ step: "rejected execution", message: `expected 400, got ${rejectReply.status}: ${rejectReply.body}` })
    }
    const baseline = yield* baselineHttpServer(healthReply.body, rejectReply.body)
    const rows: Array<Row> = []
    const details: Record<string, unknown> = {}
    for (const [label, spec] of [["/health", health], ["rejected execute (400)", rejected]] as const) {
      for (const connections of CONNECTIONS) {
        const ours = yield* load(server.port, spec, connections)
        const bare = yield* load(baseline.port, spec, connections)
        const python = label === "/health" ? pythonReference.health[connections] : undefined
        rows.push({
          name: `${label}, ${connections} conn, throughput`,
          unit: "req/s",
          ours: ours.rps,
          baseline: bare.rps,
          baselineLabel: "bare node:http",
          target: python === undefined ? null : { on: "ours", min: python },
          ...(python === undefined ? {} : { note: `Python reference ${python} req/s` })
        })
        rows.push({
          name: `${label}, ${connections} conn, p99`,
          unit: "ms",
          ours: ours.latencyMs.p99,
          baseline: bare.latencyMs.p99,
          baselineLabel: "bare node:http",
          target: null
        })
        details[`${label} c=${connections}`] = { ours: roundedLoad(ours), baseline: roundedLoad(bare) }
      }
    }
    return { rows, details: { durationSeconds: DURATION_MS / 1000, pythonReference, runs: details } }
  })
