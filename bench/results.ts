import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, type Scope } from "effect"
import { encode } from "gpt-tokenizer/encoding/o200k_base"
import net from "node:net"
import { getHeapStatistics } from "node:v8"
import { ProcessRunner } from "../src/runner/ProcessRunner.js"
import { ProcessRunnerLive } from "../src/runner/ProcessRunnerLive.js"
import { nmapSpec } from "../src/tools/nmap/spec.js"
import { defaultResultLimits } from "../src/tools/stream.js"
import { timeProcess } from "./children.js"
import { BenchFailed } from "./errors.js"
import { latencyRow, type Row } from "./report.js"
import { rounded, summarize } from "./stats.js"

/**
 * 6. Complete results at any scan size: nmap over 127.0.0.0/24, /26 and /28 ×
 *    50 listening ports (listeners on 0.0.0.0 answer on every loopback
 *    address) through the runner with the stream parser fed as output arrives,
 *    against the same nmap argv spawned directly; runs interleaved. Reports
 *    completeness (hosts, open ports), the wall-time ratio, summary tokens
 *    (o200k) and the parser's heap growth. Only 127.0.0.0/8 is scanned, with -n.
 */

const FIRST_PORT = 20000
const PORTS = 50
const RUNS = 5
const NETWORKS = [{ cidr: "127.0.0.0/24", hosts: 256 }, { cidr: "127.0.0.0/26", hosts: 64 }, { cidr: "127.0.0.0/28", hosts: 16 }]

const MB = 1024 * 1024

/** One listener per port on 0.0.0.0; connections are closed gracefully (a reset makes nmap print a line per port). */
const listeners: Effect.Effect<void, BenchFailed, Scope.Scope> = Effect.forEach(
  Array.from({ length: PORTS }, (_, i) => FIRST_PORT + i),
  (port) =>
    Effect.acquireRelease(
      Effect.async<net.Server, BenchFailed>((resume) => {
        const server = net.createServer((socket) => {
          socket.on("error", () => undefined)
          socket.end()
        })
        server.once("error", (e) => resume(Effect.fail(new BenchFailed({ step: "listeners", message: `port ${port}: ${String(e)}` }))))
        server.listen(port, "0.0.0.0", () => resume(Effect.succeed(server)))
      }),
      (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    ),
  { discard: true }
)

interface OursRun {
  readonly ms: number
  readonly hosts: number
  readonly openPorts: number
  readonly complete: boolean
  readonly summaryTokens: number
  readonly heapGrowthMb: number
}

const ours = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const runner = yield* ProcessRunner
    const heapBefore = getHeapStatistics().used_heap_size
    let heapPeak = heapBefore
    const started = performance.now()
    const parser = nmapSpec.stream!(defaultResultLimits)
    const result = yield* runner.run({
      command: nmapSpec.binary,
      args,
      timeout: "120 seconds",
      killGrace: "2 seconds",
      limits: { addressSpaceBytes: 1024 * MB, openFiles: 256, cpuSeconds: 125 },
      maxStdoutBytes: MB,
      maxStderrBytes: 256 * 1024,
      onOutput: (stream, chunk) =>
        Effect.sync(() => {
          if (stream !== "stdout") return
          parser.feed(chunk)
          heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size)
        })
    }).pipe(Effect.mapError((e) => new BenchFailed({ step: "nmap via runner", message: e.message })))
    const { data, summary } = parser.finish({ partial: result.timedOut, stderr: result.stderr })
    const ms = performance.now() - started
    heapPeak = Math.max(heapPeak, getHeapStatistics().used_heap_size)
    if (result.exitCode !== 0) return yield* new BenchFailed({ step: "nmap via runner", message: `exit ${result.exitCode}` })
    return {
      ms,
      hosts: data.hosts.length,
      openPorts: data.hosts.reduce((n, h) => n + h.ports.filter((p) => p.state === "open").length, 0),
      complete: data.complete,
      summaryTokens: encode(summary).length,
      heapGrowthMb: (heapPeak - heapBefore) / MB
    } satisfies OursRun
  })

const direct = (argv: ReadonlyArray<string>) =>
  Effect.flatMap(
    timeProcess(argv, "nmap direct"),
    (t) => t.code === 0 ? Effect.succeed(t.ms) : new BenchFailed({ step: "nmap direct", message: `${argv.join(" ")} exited ${t.code}` })
  )

const network = (cidr: string, expectedHosts: number) =>
  Effect.gen(function*() {
    const args = [...nmapSpec.fixedArgs, "-sT", "-Pn", "-p", `${FIRST_PORT}-${FIRST_PORT + PORTS - 1}`, cidr]
    const samples = { ours: [] as Array<number>, direct: [] as Array<number> }
    let last: OursRun | undefined
    for (let i = 0; i < 1 + RUNS; i++) {
      const run = yield* ours(args)
      const plain = yield* direct([nmapSpec.binary, ...args])
      if (run.hosts !== expectedHosts || run.openPorts !== expectedHosts * PORTS || !run.complete) {
        return yield* new BenchFailed({
          step: `results ${cidr}`,
          message: `incomplete: ${run.hosts} hosts, ${run.openPorts} open ports (expected ${expectedHosts}, ${expectedHosts * PORTS})`
        })
      }
      if (i > 0) {
        samples.ours.push(run.ms)
        samples.direct.push(plain)
      }
      last = run
    }
    return { cidr, args, last: last!, ours: summarize(samples.ours), direct: summarize(samples.direct) }
  })

export const resultsBench = Effect.scoped(
  Effect.gen(function*() {
    yield* listeners
    const results = yield* Effect.forEach(NETWORKS, ({ cidr, hosts }) => network(cidr, hosts))
    const rows: ReadonlyArray<Row> = results.flatMap((r): ReadonlyArray<Row> => [
      latencyRow(
        {
          name: `nmap ${r.cidr} × ${PORTS} ports, runner + stream parser, median`,
          baselineLabel: "nmap spawned directly",
          target: { on: "ratio", max: 1.1 },
          note: `complete: ${r.last.hosts} hosts, ${r.last.openPorts} open ports`
        },
        r.ours,
        r.direct
      ),
      {
        name: `summary of ${r.cidr} × ${PORTS} ports (o200k)`,
        unit: "tokens",
        ours: r.last.summaryTokens,
        baseline: defaultResultLimits.summaryTokens,
        baselineLabel: "results.summary_tokens",
        target: { on: "ours", max: 1500 }
      },
      {
        name: `parser heap growth, ${r.cidr} × ${PORTS} ports`,
        unit: "MB",
        ours: r.last.heapGrowthMb,
        baseline: 50,
        baselineLabel: "issue bound",
        target: { on: "ours", max: 50 }
      }
    ])
    const details = Object.fromEntries(results.map((r) => [r.cidr, {
      argv: [nmapSpec.binary, ...r.args],
      runs: RUNS,
      ours: rounded(r.ours),
      direct: rounded(r.direct),
      hosts: r.last.hosts,
      openPorts: r.last.openPorts,
      summaryTokens: r.last.summaryTokens,
      heapGrowthMb: Number(r.last.heapGrowthMb.toFixed(1))
    }]))
    return { rows, details }
  })
).pipe(Effect.provide(ProcessRunnerLive.pipe(Layer.provide(NodeContext.layer))))
