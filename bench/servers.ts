import { Effect, type Scope } from "effect"
import type { ChildProcess } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { firstLine, managed, stderrMatch } from "./children.js"
import type { BenchFailed } from "./errors.js"

/** dist/bench.mjs sits beside dist/server.js. */
export const serverScript = fileURLToPath(new URL("./server.js", import.meta.url))

const READY_TIMEOUT_MS = 20_000

/** The parent's environment without settings of ours, so a developer's shell cannot skew the run. */
export const cleanEnv = (extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("MCP_") && key !== "LOG_LEVEL" && key !== "LOG_FORMAT") env[key] = value
  }
  return { ...env, ...extra }
}

export const TRUE_TOOL = "TrueTool"
export const FLOOD_TOOL = "FloodTool"
export const FLOOD_BYTES = 1024 * 1024 * 1024

/** Custom tools of the benchmark: the cheapest possible process, and a 1 GiB stdout flood. */
export const benchTools = JSON.stringify([
  { name: TRUE_TOOL, description: "exits 0 at once", binary: "/bin/true", flags: [] },
  {
    name: FLOOD_TOOL,
    description: "writes 1 GiB of zeros to stdout",
    binary: "/usr/bin/head",
    fixed_args: ["-c", String(FLOOD_BYTES), "/dev/zero"],
    flags: []
  }
])

export interface RunningServer {
  readonly child: ChildProcess
  readonly pid: number
  readonly port: number
}

export interface ServerOptions {
  /** The configuration as shipped (rate limits on); by default rate limiting is off, so every call is measured, not refused. */
  readonly shippedDefaults?: boolean
  readonly env?: Readonly<Record<string, string>>
}

/** Our server over HTTP on a free loopback port, with the benchmark's custom tools. */
export const ourHttpServer = (options: ServerOptions = {}): Effect.Effect<RunningServer, BenchFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const env = cleanEnv({
      MCP_SERVER_TRANSPORT: "http",
      MCP_SERVER_HOST: "127.0.0.1",
      MCP_SERVER_PORT: "0",
      ...(options.shippedDefaults === true ? {} : { MCP_RATE_LIMIT_ENABLED: "false" }),
      MCP_CUSTOM_TOOLS: benchTools,
      ...options.env
    })
    const { child, stderr } = yield* managed(process.execPath, [serverScript, "serve"], { env, stdio: ["ignore", "pipe", "pipe"] })
    child.stdout?.resume()
    const match = yield* stderrMatch(child, /listening on http:\/\/127\.0\.0\.1:(\d+)/, READY_TIMEOUT_MS, "start server", stderr)
    return { child, pid: child.pid!, port: Number(match[1]) }
  })

/** The floor: node:http answering with fixed bodies, no routing, validation or logging. */
const baselineSource = `
const http = require("node:http")
const health = process.env.BENCH_HEALTH_BODY
const rejected = process.env.BENCH_REJECT_BODY
const send = (res, status, body) => {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}
const server = http.createServer((req, res) => {
  if (req.method === "POST") {
    req.resume()
    req.on("end", () => send(res, 400, rejected))
  } else send(res, 200, health)
})
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"))
`

export const baselineHttpServer = (healthBody: string, rejectBody: string): Effect.Effect<RunningServer, BenchFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const env = cleanEnv({ BENCH_HEALTH_BODY: healthBody, BENCH_REJECT_BODY: rejectBody })
    const { child } = yield* managed(process.execPath, ["-e", baselineSource], { env, stdio: ["ignore", "pipe", "pipe"] })
    const line = yield* firstLine(child, (l) => /^\d+$/.test(l.trim()), READY_TIMEOUT_MS, "start baseline server")
    return { child, pid: child.pid!, port: Number(line.trim()) }
  })

export interface MemoryStatus {
  readonly rssMb: number
  readonly hwmMb: number
}

/** Current and peak resident set size from /proc, in MiB. */
export const memoryOf = (pid: number): MemoryStatus => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN)
  return { rssMb: kb("VmRSS") / 1024, hwmMb: kb("VmHWM") / 1024 }
}
