import { Effect } from "effect"
import { performance } from "node:perf_hooks"
import { firstLine, managed, stopChild } from "./children.js"
import { latencyRow, type Row } from "./report.js"
import { cleanEnv, serverScript } from "./servers.js"
import { alternate, type Paired, paired, roundedPaired } from "./stats.js"

/**
 * Spawn → `initialize` reply over stdio, against a node process that only
 * echoes the reply; and, in the same runs of ours, spawn → `tools/list`
 * reply (sent once `initialize` is answered), which is when a client can
 * offer the tools: the server answers `initialize` before its services are
 * built, so that first figure alone flatters it. Both get the environment
 * an MCP client gives a server it launches (Claude Desktop passes PATH, HOME and what the entry's `env`
 * names): a developer's or a CI machine's variables such as
 * NODE_EXTRA_CA_CERTS (which makes every Node start-up read a CA bundle)
 * slow both alike and tell nothing about the server; that figure is a row too.
 */

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

const clientEnv = (extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  HOME: process.env["HOME"] ?? "/",
  ...extra
})

const listTools = `${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n${
  JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list", params: {} })
}\n`

const isReply = (line: string) => line.includes("\"id\":1")
const isToolList = (line: string) => line.includes("\"id\":2") && line.includes("\"tools\"")

/**
 * Time from spawn to the reply line and, with `thenList`, to the `tools/list` reply; the child is stopped before
 * the next run starts.
 */
const timeOnce = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, thenList = false) =>
  Effect.scoped(
    Effect.gen(function*() {
      const started = performance.now()
      const { child } = yield* managed(process.execPath, args, { env, stdio: ["pipe", "pipe", "pipe"] })
      child.stdin?.write(initialize)
      const line = yield* firstLine(child, isReply, REPLY_TIMEOUT_MS, "initialize reply")
      const ms = performance.now() - started
      let listMs = Number.NaN
      if (thenList) {
        child.stdin?.write(listTools)
        yield* firstLine(child, isToolList, REPLY_TIMEOUT_MS, "tools/list reply")
        listMs = performance.now() - started
      }
      child.stdin?.end()
      yield* Effect.promise(() => stopChild(child))
      return { ms, listMs, line }
    })
  )

export interface StartupResult {
  readonly rows: ReadonlyArray<Row>
  readonly details: Record<string, unknown>
}

/** Our start-up and the echo's, alternating, in one environment, run by run; ours to `tools/list` too with `withList`. */
const measure = (env: (extra?: Readonly<Record<string, string>>) => NodeJS.ProcessEnv, withList = false) =>
  Effect.gen(function*() {
    const ourArgs = [serverScript, "serve", "--transport", "stdio"]
    // The first run warms the page cache for the bundle and hands the baseline the exact reply text.
    const warm = yield* timeOnce(ourArgs, env())
    return yield* alternate(
      RUNS,
      WARMUP,
      timeOnce(ourArgs, env(), withList),
      Effect.map(timeOnce(["-e", echoSource], env({ BENCH_REPLY: warm.line })), (r) => r.ms)
    )
  })

const row = (name: string, p: Paired, target: Row["target"]): Row =>
  latencyRow({ name, baselineLabel: "`node -e` echo", target }, p.ours, p.baseline)

export const startupBench = Effect.gen(function*() {
  const client = yield* measure(clientEnv, true)
  const shell = yield* measure(cleanEnv)
  const clientInitialize = paired(client.ours.map((r) => r.ms), client.baseline)
  const clientList = paired(client.ours.map((r) => r.listMs), client.baseline)
  const shellInitialize = paired(shell.ours.map((r) => r.ms), shell.baseline)
  const rows: ReadonlyArray<Row> = [
    row("stdio spawn → initialize reply, median (environment of an MCP client: PATH, HOME)", clientInitialize, {
      on: "ours",
      max: 150
    }),
    row("stdio spawn → tools/list reply, median (same runs; the tools a client can offer)", clientList, null),
    row("stdio spawn → initialize reply, median (this shell's whole environment)", shellInitialize, null)
  ]
  return {
    rows,
    details: {
      runs: RUNS,
      clientEnvironment: roundedPaired(clientInitialize),
      clientEnvironmentToolList: roundedPaired(clientList),
      shellEnvironment: { keys: Object.keys(cleanEnv()), ...roundedPaired(shellInitialize) }
    }
  } satisfies StartupResult
})
