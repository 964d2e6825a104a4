import { Effect } from "effect"
import http from "node:http"
import { BenchFailed } from "./errors.js"
import { executeBody, request, type RequestSpec } from "./http.js"
import { type LoadResult, runLoad } from "./load.js"
import { cpuMillisDuring } from "./procfs.js"
import { type Row, spreadOf, type Target } from "./report.js"
import { baselineHttpServer, type RunningServer, TRUE_TOOL } from "./servers.js"
import { summarize } from "./stats.js"

/**
 * Closed-loop HTTP load on /health and on executions refused by the target
 * policy (8.8.8.8 is public: refused before anything runs or is sent), at 1
 * and 16 connections, against a bare node:http child answering with the same
 * bodies, in alternating rounds. The Python system of issue 19 cannot run
 * here (only its README is; PyPI is out of reach), so its figures
 * stand in, scaled to this machine's speed of the moment: by the bare
 * server's figure in this run over the bare server's figure in the issue's
 * run, at the same connection count. The machine class is the same but a
 * given day's instance differs by a third (bare node:http at 1 connection:
 * 11,321 req/s in the run, 7,600-8,500 on later days).
 */

const ROUND_MS = 3000
const ROUNDS = 3
const WARMUP_MS = 1000
const CONNECTIONS = [1, 16] as const

/** The Python system's figures from issue 19, req/s. */
export const pythonReference = { health: { 1: 6558, 16: 7051 }, rejected: { 1: 3788, 16: 4939 } } as const
/** Bare node:http in the same run of issue 19, req/s. */
export const bareReference = { health: { 1: 13146, 16: 66236 }, rejected: { 1: 11321, 16: 59373 } } as const

const health: RequestSpec = { method: "GET", path: "/health" }
const rejected: RequestSpec = { method: "POST", path: `/tools/${TRUE_TOOL}/execute`, body: executeBody("8.8.8.8") }

/** Twice the Python system's figure, scaled by how fast bare node:http is here now against the run. */
export const targetOf = (kind: "health" | "rejected", connections: 1 | 16, bareHere: number): Target => {
  if (kind === "health" && connections === 1) return { on: "ratio", min: 0.5, source: "issue 19: half a bare node:http" }
  const python = pythonReference[kind][connections]
  const bareThen = bareReference[kind][connections]
  return {
    on: "ours",
    min: Math.round((2 * python * bareHere) / bareThen),
    source: `issue 19: 2× the Python system's ${python}, scaled by bare node:http ${Math.round(bareHere)} here / ${bareThen} then`
  }
}

const roundedLoad = (r: LoadResult) => ({
  rps: Math.round(r.rps),
  requests: r.requests,
  statuses: r.statuses,
  errors: r.errors,
  latencyMs: {
    p50: Number(r.latencyMs.median.toFixed(3)),
    p99: Number(r.latencyMs.p99.toFixed(3)),
    max: Number(r.latencyMs.max.toFixed(3))
  }
})

/**
 * Alternating rounds on both servers, each warmed first; the figure is the
 * median round. Our server's CPU time over its rounds (all its threads, GC
 * included) says what one request costs it, and so what bounds the figure:
 * one event loop serves at most 1 s / that cost.
 */
const rounds = (ours: RunningServer, bare: number, spec: RequestSpec, connections: number) =>
  Effect.promise(async () => {
    await runLoad(ours.port, spec, connections, WARMUP_MS)
    await runLoad(bare, spec, connections, WARMUP_MS)
    const o: Array<LoadResult> = []
    const b: Array<LoadResult> = []
    let cpuMs = 0
    const ourRound = async () => {
      const { cpuMs: used, result } = await cpuMillisDuring(ours.pid, () => runLoad(ours.port, spec, connections, ROUND_MS))
      cpuMs += used
      o.push(result)
    }
    for (let i = 0; i < ROUNDS; i++) {
      if (i % 2 === 0) {
        await ourRound()
        b.push(await runLoad(bare, spec, connections, ROUND_MS))
      } else {
        b.push(await runLoad(bare, spec, connections, ROUND_MS))
        await ourRound()
      }
    }
    const requests = o.reduce((sum, r) => sum + r.requests, 0)
    return { ours: o, bare: b, cpuMicrosPerRequest: requests === 0 ? Number.NaN : (cpuMs * 1000) / requests }
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
    for (const [kind, label, spec] of [["health", "`/health`", health], ["rejected", "rejected execute (policy 400)", rejected]] as const) {
      for (const connections of CONNECTIONS) {
        const result = yield* rounds(server, baseline.port, spec, connections)
        const ours = summarize(result.ours.map((r) => r.rps))
        const bare = summarize(result.bare.map((r) => r.rps))
        const unexpected = result.ours.flatMap((r) => Object.keys(r.statuses)).filter((status) =>
          status !== (kind === "health" ? "200" : "400")
        )
        rows.push({
          name: `${label}, ${connections} connection${connections === 1 ? "" : "s"}`,
          unit: "req/s",
          ours: ours.median,
          baseline: bare.median,
          baselineLabel: "bare node:http",
          target: targetOf(kind, connections, bare.median),
          spread: { ours: spreadOf(ours), baseline: spreadOf(bare) },
          note: [
            `server CPU ${Math.round(result.cpuMicrosPerRequest)} µs per request (all its threads)`,
            ...(unexpected.length === 0 ? [] : [`statuses other than expected: ${[...new Set(unexpected)].join(", ")}`])
          ].join("; ")
        })
        details[`${kind} c=${connections}`] = {
          ours: result.ours.map(roundedLoad),
          baseline: result.bare.map(roundedLoad),
          serverCpuMicrosPerRequest: Math.round(result.cpuMicrosPerRequest)
        }
      }
    }
    return { rows, details: { roundSeconds: ROUND_MS / 1000, rounds: ROUNDS, pythonReference, bareReference, runs: details } }
  })
