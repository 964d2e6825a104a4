import { Effect, type Scope } from "effect"
import http from "node:http"
import net from "node:net"
import { timeProcess } from "./children.js"
import { BenchFailed } from "./errors.js"
import { executeBody, request } from "./http.js"
import type { Row } from "./report.js"
import { type RunningServer, TRUE_TOOL } from "./servers.js"
import { rounded, summarize } from "./stats.js"

/**
 * 2. Loopback nmap scans through the server against the same scans spawned
 *    directly: all TCP ports (the target ratio) and one port (where the fixed
 *    cost shows most); 3. the fixed cost of one call on a tool that does nothing.
 *    Runs alternate between the variants so drift in the machine hits both alike.
 */

const NMAP_RUNS = 20
/** A scan of every TCP port: what an agent typically asks for, long enough for the fixed cost to matter little. */
const FULL_RUNS = 7
const TRUE_RUNS = 40
const WARMUP = 2

/** An open port on 127.0.0.1 for nmap to find; connections are closed as soon as they arrive. */
const loopbackListener: Effect.Effect<number, BenchFailed, Scope.Scope> = Effect.acquireRelease(
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

const direct = (argv: ReadonlyArray<string>, step: string) =>
  Effect.flatMap(
    timeProcess(argv, step),
    (timed) => timed.code === 0 ? Effect.succeed(timed.ms) : new BenchFailed({ step, message: `${argv.join(" ")} exited ${timed.code}` })
  )

export interface ToolsResult {
  readonly rows: ReadonlyArray<Row>
  readonly details: Record<string, unknown>
}

export const toolsBench = (server: RunningServer) =>
  Effect.gen(function*() {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
    const port = String(yield* loopbackListener)

    const nmapArgs = ["-sT", "-p", port]
    const plainNmap = ["nmap", "-n", "-oX", "-", ...nmapArgs, "127.0.0.1"]
    const first = yield* execute(agent, server, "NmapTool", nmapArgs)
    if (!first.result.stdout.includes(`portid="${port}"><state state="open"`)) {
      return yield* new BenchFailed({ step: "NmapTool", message: "the scan through the server did not report the port open" })
    }
    // The server's exact argv (its wrappers and added flags) run directly separates the server's own cost from the tool's.
    const serverNmapArgv = first.result.metadata.argv
    const nmap = { ours: [] as Array<number>, plain: [] as Array<number>, sameArgv: [] as Array<number> }
    for (let i = 0; i < WARMUP + NMAP_RUNS; i++) {
      const ours = yield* execute(agent, server, "NmapTool", nmapArgs)
      const plain = yield* direct(plainNmap, "nmap direct")
      const sameArgv = yield* direct(serverNmapArgv, "nmap direct with server argv")
      if (i >= WARMUP) {
        nmap.ours.push(ours.ms)
        nmap.plain.push(plain)
        nmap.sameArgv.push(sameArgv)
      }
    }

    const fullArgs = ["-sT", "-p", "1-65535"]
    const plainFull = ["nmap", "-n", "-oX", "-", ...fullArgs, "127.0.0.1"]
    const full = { ours: [] as Array<number>, plain: [] as Array<number> }
    for (let i = 0; i < 1 + FULL_RUNS; i++) {
      const ours = yield* execute(agent, server, "NmapTool", fullArgs)
      const plain = yield* direct(plainFull, "nmap all ports direct")
      if (i >= 1) {
        full.ours.push(ours.ms)
        full.plain.push(plain)
      }
    }

    const trueCall = yield* execute(agent, server, TRUE_TOOL, [])
    const wrappedTrue = trueCall.result.metadata.argv
    const calls = { ours: [] as Array<number>, wrapped: [] as Array<number>, bare: [] as Array<number> }
    for (let i = 0; i < WARMUP + TRUE_RUNS; i++) {
      const ours = yield* execute(agent, server, TRUE_TOOL, [])
      const wrapped = yield* direct(wrappedTrue, "wrapped true")
      const bare = yield* direct(["/bin/true", "127.0.0.1"], "true")
      if (i >= WARMUP) {
        calls.ours.push(ours.ms)
        calls.wrapped.push(wrapped)
        calls.bare.push(bare)
      }
    }

    const s = {
      nmapOurs: summarize(nmap.ours),
      nmapPlain: summarize(nmap.plain),
      nmapSameArgv: summarize(nmap.sameArgv),
      fullOurs: summarize(full.ours),
      fullPlain: summarize(full.plain),
      callOurs: summarize(calls.ours),
      callWrapped: summarize(calls.wrapped),
      callBare: summarize(calls.bare)
    }
    const overheadMs = s.callOurs.median - s.callWrapped.median
    const rows: ReadonlyArray<Row> = [
      {
        name: "nmap -sT all 65535 ports via REST, median",
        unit: "ms",
        ours: s.fullOurs.median,
        baseline: s.fullPlain.median,
        baselineLabel: "nmap spawned directly",
        target: { on: "ratio", max: 1.05 }
      },
      {
        name: "nmap -sT 1 port via REST, median",
        unit: "ms",
        ours: s.nmapOurs.median,
        baseline: s.nmapPlain.median,
        baselineLabel: "nmap spawned directly",
        target: null
      },
      {
        name: "nmap, server argv spawned directly",
        unit: "ms",
        ours: s.nmapOurs.median,
        baseline: s.nmapSameArgv.median,
        baselineLabel: "server's argv spawned",
        target: null
      },
      {
        name: "trivial tool call via REST, median",
        unit: "ms",
        ours: s.callOurs.median,
        baseline: s.callWrapped.median,
        baselineLabel: "server's argv spawned",
        target: null,
        note: `fixed overhead ${overheadMs.toFixed(2)} ms per call`
      },
      {
        name: "wrapped /bin/true (server argv) direct",
        unit: "ms",
        ours: s.callWrapped.median,
        baseline: s.callBare.median,
        baselineLabel: "/bin/true spawned",
        target: null
      }
    ]
    const details = {
      nmapAllPorts: { runs: FULL_RUNS, argv: plainFull, ours: rounded(s.fullOurs), direct: rounded(s.fullPlain) },
      nmap: {
        runs: NMAP_RUNS,
        argv: { plain: plainNmap, server: serverNmapArgv },
        ours: rounded(s.nmapOurs),
        direct: rounded(s.nmapPlain),
        directServerArgv: rounded(s.nmapSameArgv)
      },
      trivialCall: {
        runs: TRUE_RUNS,
        argv: wrappedTrue,
        ours: rounded(s.callOurs),
        directServerArgv: rounded(s.callWrapped),
        directTrue: rounded(s.callBare),
        overheadMsMedian: Number(overheadMs.toFixed(3)),
        overheadMsVsBareTrue: Number((s.callOurs.median - s.callBare.median).toFixed(3))
      }
    }
    return { rows, details } satisfies ToolsResult
  })
