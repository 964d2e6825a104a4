import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Either, Fiber, Layer, Schedule } from "effect"
import { ResourceLimitsUnavailable, SpawnFailed } from "../../src/errors.js"
import { ProcessRunner, type RunRequest } from "../../src/runner/ProcessRunner.js"
import { processRunnerLayer, ProcessRunnerLive } from "../../src/runner/ProcessRunnerLive.js"
import { resolveBinary, SAFE_PATH } from "../../src/runner/resolveBinary.js"
import { which } from "../support/procfs.js"
import { isAlive, runRequest } from "./processes.js"

const RunnerLayer = ProcessRunnerLive.pipe(Layer.provide(NodeContext.layer))
/** A host without util-linux's wrappers (macOS, BSD, a minimal Linux). */
const Unwrapped = processRunnerLayer({ prlimit: "no-such-prlimit", setpriv: "no-such-setpriv" }).pipe(Layer.provide(NodeContext.layer))

const request = runRequest

/** A binary these tests run, looked up on PATH: where it lives differs between systems. */
const bin = (name: string): string => {
  const path = which(name)
  if (path === undefined) throw new Error(`${name} is not on PATH`)
  return path
}

const run = (req: RunRequest) => Effect.flatMap(ProcessRunner, (runner) => runner.run(req))

// Signal delivery and exit are asynchronous: give a killed process a moment to be gone.
const awaitDead = (pid: number) =>
  Effect.suspend(() => (isAlive(pid) ? Effect.fail("alive" as const) : Effect.void)).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

describe("ProcessRunner", () => {
  it.live("runs a binary and reports the exact argv, output and exit code", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("echo"), ["hello", "world"]))
      expect(result.argv).toEqual([
        yield* resolveBinary("setpriv", SAFE_PATH),
        "--pdeathsig",
        "KILL",
        "--",
        yield* resolveBinary("prlimit", SAFE_PATH),
        "--as=1073741824",
        "--nofile=256:256",
        "--core=0",
        "--cpu=60:61",
        "--",
        bin("echo"),
        "hello",
        "world"
      ])
      expect(result.stdout).toBe("hello world\n")
      expect(result.stderr).toBe("")
      expect(result.exitCode).toBe(0)
      expect(result.signal).toBeNull()
      expect(result.timedOut).toBe(false)
      expect(result.truncatedStdout).toBe(false)
      expect(result.durationMs).toBeGreaterThanOrEqual(0)
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("a non-zero exit is a result, with stderr captured", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("sh"), ["-c", "echo oops >&2; exit 3"]))
      expect(result.exitCode).toBe(3)
      expect(result.stderr).toBe("oops\n")
      expect(result.signal).toBeNull()
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("passes arguments literally, never through a shell", () =>
    Effect.gen(function*() {
      const args = ["%s\\n", "a; rm -rf /", "$(id)", "`id`", "x | y && z", "* ?", "a b", "'\"", ""]
      const result = yield* run(request(bin("printf"), args))
      expect(result.stdout).toBe(args.slice(1).map((arg) => `${arg}\n`).join(""))
      expect(result.exitCode).toBe(0)
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("reports death by signal by name", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("sh"), ["-c", "kill -USR1 $$"]))
      expect(result.exitCode).toBeNull()
      expect(result.signal).toBe("SIGUSR1")
      expect(result.timedOut).toBe(false)
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("closes the child's stdin", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("cat"), [], { timeout: "10 seconds" }))
      expect(result.timedOut).toBe(false)
      expect(result.exitCode).toBe(0)
      expect(result.stdout).toBe("")
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("gives the child a minimal environment, never the server's", () =>
    Effect.gen(function*() {
      process.env["SECURITY_MCP_RUNNER_MARKER"] = "secret-marker-value"
      const result = yield* run(request(bin("env"), [], { env: { EXTRA_VAR: "extra" } })).pipe(
        Effect.ensuring(Effect.sync(() => delete process.env["SECURITY_MCP_RUNNER_MARKER"]))
      )
      const lines = result.stdout.trim().split("\n").sort()
      expect(result.stdout).not.toContain("SECURITY_MCP_RUNNER_MARKER")
      expect(result.stdout).not.toContain("secret-marker-value")
      expect(lines).toEqual(["EXTRA_VAR=extra", "LANG=C", `PATH=${SAFE_PATH}`])
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("streams decoded output to onOutput as it arrives", () =>
    Effect.gen(function*() {
      const seen: Array<[string, string]> = []
      const result = yield* run(request(bin("sh"), ["-c", "printf 'héllo '; sleep 0.1; printf 'wörld'; echo err >&2"], {
        onOutput: (stream, chunk) => Effect.sync(() => seen.push([stream, chunk]))
      }))
      const joined = (name: string) => seen.filter(([stream]) => stream === name).map(([, chunk]) => chunk).join("")
      expect(joined("stdout")).toBe("héllo wörld")
      expect(joined("stderr")).toBe("err\n")
      expect(result.stdout).toBe("héllo wörld")
      expect(seen.filter(([stream]) => stream === "stdout").length).toBeGreaterThanOrEqual(2)
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("hands over many small writes in order, a character split across writes whole", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const script = "for i in $(seq 1 300); do printf '%04d\\n' $i; done; printf '\\303'; sleep 0.05; printf '\\251!'"
      const result = yield* run(request(bin("sh"), ["-c", script], {
        onOutput: (stream, chunk) => Effect.sync(() => stream === "stdout" && seen.push(chunk))
      }))
      const expected = Array.from({ length: 300 }, (_, i) => `${String(i + 1).padStart(4, "0")}\n`).join("") + "é!"
      expect(seen.join("")).toBe(expected)
      expect(result.stdout).toBe(expected)
      expect(seen.every((chunk) => !chunk.includes("\uFFFD"))).toBe(true)
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("cuts capped output on a character boundary", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("printf"), ["ééé"], { maxStdoutBytes: 3 }))
      expect(result.stdout).toBe("é")
      expect(result.truncatedStdout).toBe(true)
      expect(result.exitCode).toBe(0)
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("keeps memory bounded while draining an output flood", () =>
    Effect.gen(function*() {
      const cap = 1024 * 1024
      const rssBefore = process.memoryUsage().rss
      let maxRss = rssBefore
      const result = yield* run(request(bin("head"), ["-c", "1G", "/dev/zero"], {
        timeout: "60 seconds",
        maxStdoutBytes: cap,
        onOutput: () =>
          Effect.sync(() => {
            maxRss = Math.max(maxRss, process.memoryUsage().rss)
          })
      }))
      expect(result.exitCode).toBe(0)
      expect(result.timedOut).toBe(false)
      expect(result.truncatedStdout).toBe(true)
      expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(cap)
      expect(Buffer.byteLength(result.stdout)).toBe(cap)
      expect(maxRss - rssBefore).toBeLessThan(200 * 1024 * 1024)
    }).pipe(Effect.provide(RunnerLayer)), 90_000)

  it.live("times out: SIGTERMs the group and reports timedOut", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("sleep"), ["30"], { timeout: "200 millis" }))
      expect(result.timedOut).toBe(true)
      expect(result.signal).toBe("SIGTERM")
      expect(result.exitCode).toBeNull()
    }).pipe(Effect.provide(RunnerLayer)), 15_000)

  it.live("SIGKILLs a child that ignores SIGTERM after the grace period", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("bash"), ["-c", "trap '' TERM; echo $$; sleep 30"], {
        timeout: "300 millis",
        killGrace: "300 millis"
      }))
      expect(result.timedOut).toBe(true)
      expect(result.signal).toBe("SIGKILL")
      expect(yield* awaitDead(Number(result.stdout.trim()))).toBe(true)
    }).pipe(Effect.provide(RunnerLayer)), 15_000)

  it.live("kills grandchildren left behind by a leader that exited", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("bash"), ["-c", "sleep 300 & echo $!"]))
      expect(result.exitCode).toBe(0)
      expect(result.timedOut).toBe(false)
      const grandchild = Number(result.stdout.trim())
      expect(grandchild).toBeGreaterThan(1)
      expect(yield* awaitDead(grandchild)).toBe(true)
    }).pipe(Effect.provide(RunnerLayer)), 15_000)

  it.live("interruption kills the whole process group", () =>
    Effect.gen(function*() {
      const pids = yield* Deferred.make<ReadonlyArray<number>>()
      const fiber = yield* Effect.fork(run(request(bin("bash"), ["-c", "trap '' TERM; sleep 300 & echo $$ $!; wait"], {
        killGrace: "200 millis",
        onOutput: (stream, chunk) =>
          stream === "stdout" ? Deferred.succeed(pids, chunk.trim().split(" ").map(Number)).pipe(Effect.asVoid) : Effect.void
      })))
      const [leader, child] = yield* Deferred.await(pids)
      expect(isAlive(leader!)).toBe(true)
      expect(isAlive(child!)).toBe(true)
      yield* Fiber.interrupt(fiber)
      expect(yield* awaitDead(leader!)).toBe(true)
      expect(yield* awaitDead(child!)).toBe(true)
    }).pipe(Effect.provide(RunnerLayer)), 15_000)

  // Timers inside the runner follow real time even under a TestClock.
  it.effect("times out in real time under a TestClock", () =>
    Effect.gen(function*() {
      const result = yield* run(request(bin("sleep"), ["30"], { timeout: "100 millis", killGrace: "100 millis" }))
      expect(result.timedOut).toBe(true)
    }).pipe(Effect.provide(RunnerLayer)), 15_000)

  it.live("applies the resource limits through prlimit", () =>
    Effect.gen(function*() {
      const limits = { addressSpaceBytes: 256 * 1024 * 1024, openFiles: 64, cpuSeconds: 7 }
      const result = yield* run(
        request(bin("bash"), ["-c", "ulimit -n; ulimit -Hn; ulimit -v; ulimit -c; ulimit -t; ulimit -Ht"], { limits })
      )
      expect(result.stdout.trim().split("\n")).toEqual(["64", "64", String(256 * 1024), "0", "7", "8"])
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("the address-space limit makes a big allocation fail", () =>
    Effect.gen(function*() {
      const limits = { addressSpaceBytes: 256 * 1024 * 1024, openFiles: 64, cpuSeconds: 30 }
      const big = yield* run(request(bin("python3"), ["-c", "bytearray(1 << 30)"], { limits }))
      expect(big.exitCode).not.toBe(0)
      expect(big.stderr).toContain("MemoryError")
      const small = yield* run(request(bin("python3"), ["-c", "bytearray(1 << 20); print('ok')"], { limits }))
      expect(small.exitCode).toBe(0)
      expect(small.stdout).toBe("ok\n")
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("the CPU limit stops a busy loop with SIGXCPU", () =>
    Effect.gen(function*() {
      const limits = { addressSpaceBytes: 256 * 1024 * 1024, openFiles: 64, cpuSeconds: 1 }
      const result = yield* run(request(bin("bash"), ["-c", "while :; do :; done"], { limits, timeout: "20 seconds" }))
      expect(result.timedOut).toBe(false)
      expect(result.signal).toBe("SIGXCPU")
    }).pipe(Effect.provide(RunnerLayer)), 30_000)

  it.live("a missing binary is SpawnFailed", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(run(request("/nonexistent/tool", [])))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left).toBeInstanceOf(SpawnFailed)
        expect((result.left as SpawnFailed).command).toBe("/nonexistent/tool")
      }
    }).pipe(Effect.provide(RunnerLayer)))

  it.live("fails closed with ResourceLimitsUnavailable, naming the fix, when prlimit or setpriv is missing", () =>
    Effect.gen(function*() {
      const result = yield* Effect.either(run(request(bin("echo"), ["hi"])))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left).toBeInstanceOf(ResourceLimitsUnavailable)
        expect((result.left as ResourceLimitsUnavailable).missing).toEqual(["resource_limits", "parent_death_signal"])
        expect(result.left.message).toContain("prlimit not found")
        expect(result.left.message).toContain("apt-get install util-linux")
        expect(result.left.message).toContain("security.resource_limits: best_effort")
      }
    }).pipe(Effect.provide(Unwrapped)))

  it.live("with best-effort limits runs the bare argv and says in its notes what did not hold", () =>
    Effect.gen(function*() {
      const result = yield* run(request("/bin/echo", ["hi"], { resourceLimits: "best_effort" }))
      expect(result.argv).toEqual(["/bin/echo", "hi"])
      expect(result.stdout).toBe("hi\n")
      expect(result.notes).toHaveLength(2)
      expect(result.notes![0]).toMatch(/best_effort and prlimit was not found: no address-space, open-file, core-dump or CPU-time limit/)
      expect(result.notes![1]).toMatch(/setpriv was not found: no parent-death signal/)
    }).pipe(Effect.provide(Unwrapped)))

  it.live("with best-effort limits the timeout, the output cap and the group kill still hold", () =>
    Effect.gen(function*() {
      const capped = yield* run(
        request("/usr/bin/head", ["-c", "100000", "/dev/zero"], { resourceLimits: "best_effort", maxStdoutBytes: 1000 })
      )
      expect([capped.truncatedStdout, Buffer.byteLength(capped.stdout)]).toEqual([true, 1000])
      const result = yield* run(request("/bin/bash", ["-c", "sleep 300 & echo $!; sleep 300"], {
        resourceLimits: "best_effort",
        timeout: "300 millis"
      }))
      expect(result.timedOut).toBe(true)
      expect(yield* awaitDead(Number(result.stdout.trim()))).toBe(true)
    }).pipe(Effect.provide(Unwrapped)), 15_000)

  it.live("uses what the host has: prlimit without setpriv under best effort", () =>
    Effect.gen(function*() {
      const result = yield* run(request("/bin/echo", ["hi"], { resourceLimits: "best_effort" }))
      expect(result.argv[0]).toBe("/usr/bin/prlimit")
      expect(result.notes).toEqual([expect.stringContaining("setpriv was not found")])
    }).pipe(Effect.provide(processRunnerLayer({ setpriv: "no-such-setpriv" }).pipe(Layer.provide(NodeContext.layer)))))

  it.live("with every wrapper present, best effort changes nothing", () =>
    Effect.gen(function*() {
      const result = yield* run(request("/bin/echo", ["hi"], { resourceLimits: "best_effort" }))
      expect(result.argv.slice(0, 5)).toEqual(["/usr/bin/setpriv", "--pdeathsig", "KILL", "--", "/usr/bin/prlimit"])
      expect(result.notes).toEqual([])
    }).pipe(Effect.provide(RunnerLayer)))
})
