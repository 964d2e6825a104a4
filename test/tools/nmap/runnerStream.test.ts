import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createServer, type Server } from "node:net"
import { ProcessRunner } from "../../../src/runner/ProcessRunner.js"
import { ProcessRunnerLive } from "../../../src/runner/ProcessRunnerLive.js"
import { nmapSpec } from "../../../src/tools/nmap/spec.js"
import { defaultResultLimits } from "../../../src/tools/stream.js"

const RunnerLayer = ProcessRunnerLive.pipe(Layer.provide(NodeContext.layer))

/** A listener on every address, so each of 127.0.0.0/28 answers; connections are closed gracefully. */
const listenAll = Effect.acquireRelease(
  Effect.async<Server>((resume) => {
    const server = createServer((socket) => {
      socket.on("error", () => undefined)
      socket.end()
    })
    server.listen(0, "0.0.0.0", () => resume(Effect.succeed(server)))
  }),
  (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
)

// Scans only 127.0.0.0/28 with -n; the listeners are the test's own.
describe("nmap through the real runner, parsed as it streams", () => {
  it.scoped("reads every host of 127.0.0.0/28 although the inline output is capped at 1 KiB", () =>
    Effect.gen(function*() {
      const servers = yield* Effect.all(Array.from({ length: 5 }, () => listenAll))
      const ports = servers.map((s) => (s.address() as { port: number }).port).sort((a, b) => a - b)
      const parser = nmapSpec.stream!(defaultResultLimits)
      let chunks = 0
      const runner = yield* ProcessRunner
      const result = yield* runner.run({
        command: nmapSpec.binary,
        args: [...nmapSpec.fixedArgs, "-sT", "-Pn", "-p", ports.join(","), "127.0.0.0/28"],
        timeout: "60 seconds",
        killGrace: "1 second",
        limits: { addressSpaceBytes: 1024 * 1024 * 1024, openFiles: 256, cpuSeconds: 60 },
        maxStdoutBytes: 1024,
        maxStderrBytes: 64 * 1024,
        onOutput: (stream, chunk) =>
          Effect.sync(() => {
            if (stream !== "stdout") return
            chunks++
            parser.feed(chunk)
          })
      })
      expect(result.argv).toContain("-n")
      expect(result.truncatedStdout).toBe(true)
      expect(result.stdout.length).toBeLessThanOrEqual(1024)
      const { data, summary } = parser.finish({ partial: result.timedOut, stderr: result.stderr })
      expect(chunks).toBeGreaterThan(0)
      expect(data.complete).toBe(true)
      expect(data.hosts).toHaveLength(16)
      expect(data.hosts.flatMap((h) => h.ports.filter((p) => p.state === "open").map((p) => p.portid))).toEqual(
        Array.from({ length: 16 }, () => ports).flat()
      )
      expect(data.runstats?.hosts).toEqual({ up: 16, down: 0, total: 16 })
      expect(summary.split("\n")[1]).toMatch(/^16 hosts 127\.0\.0\.0-127\.0\.0\.15: [\d,-]+\/tcp open$/)
    }).pipe(Effect.provide(RunnerLayer)), { timeout: 90_000 })
})
