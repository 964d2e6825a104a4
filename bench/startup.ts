import { Effect } from "effect"
import { performance } from "node:perf_hooks"
import { firstLine, managed, stopChild } from "./children.js"
import { type Row, spreadOf } from "./report.js"
import { cleanEnv, serverScript } from "./servers.js"
import { alternate, paired, roundedPaired } from "./stats.js"

/** 1. Spawn → `initialize` reply over stdio, against a node process that only echoes the reply. */

const RUNS = 25
const WARMUP = 2
const REPLY_TIMEOUT_MS = 10_000

const initialize = `${
  JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "initialize",
    params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "bench", version: "1" } }
  })
}\n`

const echoSource = `process.stdin.once("data", () => { process.stdout.write(process.env.BENCH_REPLY + "\\n"); process.exit(0) })`

const isReply = (line: string) => line.includes("\"id\":1")

/** Time from spawn to the reply line; the child is stopped before the next run starts. */
const timeOnce = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv) =>
  Effect.scoped(
    Effect.gen(function*() {
      const started = performance.now()
      const { child } = yield* managed(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"] })
      child.stdin?.write(initialize)
      const line = yield* firstLine(child, isReply, REPLY_TIMEOUT_MS, "initialize reply")
      const ms = performance.now() - started
      child.stdin?.end()
      yield* Effect.promise(() => stopChild(child))
      return { ms, line }
    })
  )

export interface StartupResult {
  readonly rows: ReadonlyArray<Row>
  readonly details: Record<string, unknown>
}

export const startupBench = Effect.gen(function*() {
  const ourArgs = [serverScript, "serve", "--transport", "stdio"]
  const ourEnv = cleanEnv()
  // The first run warms the page cache for the bundle and hands the baseline the exact reply text.
  const warm = yield* timeOnce(ourArgs, ourEnv)
  const echoEnv = cleanEnv({ BENCH_REPLY: warm.line })
  const runs = yield* alternate(
    RUNS,
    WARMUP,
    Effect.map(timeOnce(ourArgs, ourEnv), (r) => r.ms),
    Effect.map(timeOnce(["-e", echoSource], echoEnv), (r) => r.ms)
  )
  const p = paired(runs.ours, runs.baseline)
  const rows: ReadonlyArray<Row> = [
    {
      name: "stdio spawn → initialize reply, median",
      unit: "ms",
      ours: p.ours.median,
      baseline: p.baseline.median,
      baselineLabel: "`node -e` echo",
      target: { on: "ours", max: 150 },
      spread: { ours: spreadOf(p.ours), baseline: spreadOf(p.baseline) }
    }
  ]
  return { rows, details: { runs: RUNS, ...roundedPaired(p) } } satisfies StartupResult
})
