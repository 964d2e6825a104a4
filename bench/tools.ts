import { Effect, type Scope } from "effect"
import http from "node:http"
import net from "node:net"
import { timeProcess } from "./children.js"
import { BenchFailed } from "./errors.js"
import { executeBody, request } from "./http.js"
import { latencyRow, type Row } from "./report.js"
import { type RunningServer, TRUE_TOOL } from "./servers.js"
import { alternate, type Paired, paired, roundedPaired } from "./stats.js"
import { type StdioServer, stdioServer } from "./stdio.js"

/**
 * Loopback nmap scans through the server against the same scans spawned
 * directly: all TCP ports (the target ratio) and one port (where the fixed
 * cost shows most); and the fixed cost of one call of a tool that does nothing,
 * over REST and over MCP stdio (rate limiting off: every call is measured, not
 * refused). Runs alternate with their baseline, spawned by this process.
 */

const NMAP_RUNS = 30
/** nmap's wall time for all ports is bimodal here (~1.15 s or ~2.15 s): enough pairs for the median to settle. */
const FULL_RUNS = 15
const TRUE_RUNS = 60
const WARMUP = 3

/** An open port on 127.0.0.1 for nmap to find; connections are closed as soon as they arrive. */
export const loopbackListener: Effect.Effect<number, BenchFailed, Scope.Scope> = Effect.acquireRelease(
  Effect.async<net.Server, BenchFailed>((resume) => {
    const server = net.createServer((socket) => {
      socket.on("error", () => undefined)
      socket.destroy()
    })
    server.once("error", (error) => resume(Effect.fail(new BenchFailed({ step: "listener", message: String(error) }))))
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

interface ExecuteReply {
  readonly returncode: number | null
  readonly stdout: string
  readonly metadata: { readonly argv: ReadonlyArray<string> }
}

/** One execute call; anything but a 200 with exit code 0 means the figure would not be a tool run. */
const execute = (agent: http.Agent, server: RunningServer, tool: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const reply = yield* request(agent, server.port, {
      method: "POST",
      path: `/tools/${tool}/execute`,
      body: executeBody("127.0.0.1", args)
    }, tool)
    const parsed = reply.status === 200 ? (JSON.parse(reply.body) as ExecuteReply) : undefined
    if (parsed === undefined || parsed.returncode !== 0) {
      return yield* new BenchFailed({ step: tool, message: `HTTP ${reply.status}: ${reply.body.slice(0, 500)}` })
    }
    return { ms: reply.ms, result: parsed }
  })

const direct = (argv: ReadonlyArray<string>, step: string): Effect.Effect<number, BenchFailed> =>
  Effect.flatMap(
    timeProcess(argv, step),
    (timed) => timed.code === 0 ? Effect.succeed(timed.ms) : new BenchFailed({ step, message: `${argv.join(" ")} exited ${timed.code}` })
  )

export interface ToolsResult {
  readonly rows: ReadonlyArray<Row>
  readonly details: Record<string, unknown>
}

/** A stdio tools/call of the trivial tool; anything but a result with exit code 0 is a failure. */
const stdioTrue = (server: StdioServer) =>
  Effect.flatMap(server.callTool(TRUE_TOOL, { target: "127.0.0.1" }), (reply) => {
    const execution = reply.result?.structuredContent?.["execution"]
    return reply.result?.isError === false && execution?.returncode === 0
      ? Effect.succeed({ ms: reply.ms, argv: execution.argv as ReadonlyArray<string> })
      : new BenchFailed({ step: "stdio TrueTool", message: JSON.stringify(reply).slice(0, 500) })
  })

const fixedCostRow = (name: string, p: Paired): Row =>
  latencyRow(
    {
      name,
      baselineLabel: "the server's argv spawned directly",
      target: { on: "difference", max: 2 },
      difference: p.medianPairedDifference,
      note: `fixed cost per call ${p.medianPairedDifference.toFixed(2)} ms (median of paired differences)`
    },
    p.ours,
    p.baseline
  )

/** 2. nmap through the server against nmap spawned directly: one port (3-way: also the server's exact argv) and all ports. */
const nmapRuns = (agent: http.Agent, server: RunningServer, port: string) =>
  Effect.gen(function*() {
    const nmapArgs = ["-sT", "-p", port]
    const plainNmap = ["nmap", "-n", "-oX", "-", ...nmapArgs, "127.0.0.1"]
    const first = yield* execute(agent, server, "NmapTool", nmapArgs)
    if (!first.result.stdout.includes(`portid="${port}"><state state="open"`)) {
      return yield* new BenchFailed({ step: "NmapTool", message: "the scan through the server did not report the port open" })
    }
    // The server's exact argv (its wrappers and added flags) run directly separates the server's own cost from the tool's.
    const serverNmapArgv = first.result.metadata.argv
    const viaServer = Effect.map(execute(agent, server, "NmapTool", nmapArgs), (r) => r.ms)
    const one = yield* alternate(NMAP_RUNS, WARMUP, viaServer, direct(serverNmapArgv, "nmap direct with server argv"))
    const plain = yield* alternate(NMAP_RUNS, WARMUP, viaServer, direct(plainNmap, "nmap direct"))

    const fullArgs = ["-sT", "-p", "1-65535"]
    const plainFull = ["nmap", "-n", "-oX", "-", ...fullArgs, "127.0.0.1"]
    const full = yield* alternate(
      FULL_RUNS,
      1,
      Effect.map(execute(agent, server, "NmapTool", fullArgs), (r) => r.ms),
      direct(plainFull, "nmap all ports direct")
    )
    return {
      argv: { plain: plainNmap, server: serverNmapArgv, full: plainFull },
      sameArgv: paired(one.ours, one.baseline),
      plain: paired(plain.ours, plain.baseline),
      full: paired(full.ours, full.baseline)
    }
  })

/** 3. The fixed cost of one call of a tool that does nothing, over REST and over MCP stdio. */
const trivialRuns = (agent: http.Agent, server: RunningServer) =>
  Effect.gen(function*() {
    const wrappedTrue = (yield* execute(agent, server, TRUE_TOOL, [])).result.metadata.argv
    const rest = yield* alternate(
      TRUE_RUNS,
      WARMUP,
      Effect.map(execute(agent, server, TRUE_TOOL, []), (r) => r.ms),
      direct(wrappedTrue, "wrapped true")
    )
    const stdio = yield* Effect.scoped(Effect.gen(function*() {
      const mcp = yield* stdioServer({ MCP_RATE_LIMIT_ENABLED: "false" })
      const argv = (yield* stdioTrue(mcp)).argv
      return yield* alternate(TRUE_RUNS, WARMUP, Effect.map(stdioTrue(mcp), (r) => r.ms), direct(argv, "wrapped true"))
    }))
    const wrappers = yield* alternate(TRUE_RUNS, WARMUP, direct(wrappedTrue, "wrapped true"), direct(["/bin/true", "127.0.0.1"], "true"))
    return { argv: wrappedTrue, rest: paired(rest.ours, rest.baseline), stdio: paired(stdio.ours, stdio.baseline), wrappers }
  })

export const toolsBench = (server: RunningServer) =>
  Effect.gen(function*() {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
    const port = String(yield* loopbackListener)
    const nmap = yield* nmapRuns(agent, server, port)
    const trivial = yield* trivialRuns(agent, server)
    const wrappers = paired(trivial.wrappers.ours, trivial.wrappers.baseline)
    const rows: ReadonlyArray<Row> = [
      latencyRow(
        {
          name: "nmap -sT all 65,535 loopback ports via REST, median",
          baselineLabel: "nmap spawned directly",
          target: { on: "pairedRatio", max: 1.05 },
          pairedRatio: nmap.full.medianPairedRatio,
          note: `median of paired ratios ${nmap.full.medianPairedRatio.toFixed(3)} (nmap's own time is bimodal here: ~1.15 s or ~2.15 s)`
        },
        nmap.full.ours,
        nmap.full.baseline
      ),
      latencyRow(
        { name: "nmap -sT one port via REST, median", baselineLabel: "nmap spawned directly", target: null },
        nmap.plain.ours,
        nmap.plain.baseline
      ),
      latencyRow(
        {
          name: "nmap -sT one port via REST vs its exact argv, median",
          baselineLabel: "the server's argv spawned directly",
          target: null,
          note: `the server adds ${nmap.sameArgv.medianPairedDifference.toFixed(2)} ms (median of paired differences)`
        },
        nmap.sameArgv.ours,
        nmap.sameArgv.baseline
      ),
      fixedCostRow("trivial tool (`/bin/true`) via REST, median", trivial.rest),
      fixedCostRow("trivial tool (`/bin/true`) via MCP stdio, median", trivial.stdio),
      latencyRow(
        {
          name: "`/bin/true` under setpriv and prlimit, spawned directly",
          baselineLabel: "`/bin/true` spawned directly",
          target: null
        },
        wrappers.ours,
        wrappers.baseline
      )
    ]
    const details = {
      nmapAllPorts: { runs: FULL_RUNS, argv: nmap.argv.full, ...roundedPaired(nmap.full) },
      nmapOnePort: { runs: NMAP_RUNS, argv: nmap.argv, direct: roundedPaired(nmap.plain), serverArgv: roundedPaired(nmap.sameArgv) },
      trivialCall: {
        runs: TRUE_RUNS,
        argv: trivial.argv,
        rest: roundedPaired(trivial.rest),
        stdio: roundedPaired(trivial.stdio),
        wrappersVsBareTrue: roundedPaired(wrappers)
      }
    }
    return { rows, details } satisfies ToolsResult
  })
