import { Effect } from "effect"
import http from "node:http"
import { BenchFailed } from "./errors.js"
import { executeBody, request } from "./http.js"
import type { Row } from "./report.js"
import { ourHttpServer } from "./servers.js"
import { stdioServer } from "./stdio.js"
import { loopbackListener } from "./tools.js"

/**
 * Issue 19, item 6: an agent's burst. One client sends 20 one-port nmap calls
 * at once to a server with the shipped defaults (rate limits, queues and
 * concurrency as configured out of the box); the row counts the calls
 * answered with a result and says how the others were refused.
 */

const CALLS = 20

const tally = (outcomes: ReadonlyArray<string>) => {
  const counts: Record<string, number> = {}
  for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1
  return counts
}

const row = (name: string, counts: Record<string, number>): Row => {
  const refused = Object.entries(counts).filter(([outcome]) => outcome !== "result")
  return {
    name,
    unit: "calls",
    ours: counts["result"] ?? 0,
    baseline: CALLS,
    baselineLabel: "calls sent",
    target: { on: "ours", min: CALLS, source: "issue 19: all answered with results" },
    note: refused.length === 0
      ? "every call was answered with a result"
      : `refused: ${refused.map(([outcome, n]) => `${n} ${outcome}`).join(", ")} (the defaults belong to the fairness work)`
  }
}

const overRest = (port: string) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* ourHttpServer({ shippedDefaults: true })
    const agent = new http.Agent({ keepAlive: true, maxSockets: CALLS })
    yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
    const replies = yield* Effect.forEach(
      Array.from({ length: CALLS }),
      () =>
        request(agent, server.port, {
          method: "POST",
          path: "/tools/NmapTool/execute",
          body: executeBody("127.0.0.1", ["-sT", "-p", port])
        }, "burst"),
      { concurrency: "unbounded" }
    )
    return tally(replies.map((reply) => {
      if (reply.status === 200) return "result"
      const tag = (JSON.parse(reply.body) as { detail?: { _tag?: string } }).detail?._tag
      return `${reply.status} ${tag ?? "?"}`
    }))
  }))

const overStdio = (port: string) =>
  Effect.scoped(Effect.gen(function*() {
    const server = yield* stdioServer()
    const replies = yield* Effect.forEach(
      Array.from({ length: CALLS }),
      () => server.callTool("NmapTool", { target: "127.0.0.1", args: ["-sT", "-p", port] }),
      { concurrency: "unbounded" }
    )
    return tally(replies.map((reply) => {
      if (reply.error !== undefined) return `JSON-RPC error ${reply.error.code}`
      const error = reply.result?.structuredContent?.["error"] as { _tag?: string } | undefined
      return error === undefined ? "result" : (error._tag ?? "error")
    }))
  }))

export const burstBench = Effect.scoped(Effect.gen(function*() {
  const port = String(yield* loopbackListener)
  const rest = yield* overRest(port)
  const stdio = yield* overStdio(port)
  if ((rest["result"] ?? 0) + (stdio["result"] ?? 0) === 0) {
    return yield* new BenchFailed({
      step: "burst",
      message: `no call answered: REST ${JSON.stringify(rest)}, stdio ${JSON.stringify(stdio)}`
    })
  }
  return {
    rows: [
      row(`${CALLS} simultaneous one-port nmap calls, one REST client, shipped defaults`, rest),
      row(`${CALLS} simultaneous one-port nmap calls, one MCP stdio client, shipped defaults`, stdio)
    ],
    details: { calls: CALLS, rest, stdio }
  }
}))
