import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Schedule } from "effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ProcessRunner, type RunRequest } from "../../src/runner/ProcessRunner.js"
import { processRunnerLayer } from "../../src/runner/ProcessRunnerLive.js"
import { helperSource, killGroup } from "../../src/runner/Spawner.js"
import { isAlive, runRequest } from "./processes.js"

/**
 * The spawner helper starts every tool and is the watchdog: these tests find
 * it as the parent of a tool (`$PPID` of a shell started through setpriv and
 * prlimit, which exec) and take it down.
 */

const request = (script: string, overrides: Partial<RunRequest> = {}): RunRequest => runRequest("/bin/sh", ["-c", script], overrides)

const run = (req: RunRequest) => Effect.flatMap(ProcessRunner, (runner) => runner.run(req))

const eventually = (probe: () => boolean) =>
  Effect.suspend(() => (probe() ? Effect.void : Effect.fail("not yet" as const))).pipe(
    Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo("5 seconds"))),
    Effect.as(true),
    Effect.orElseSucceed(() => false)
  )

/** A run that prints the helper's pid, its own and a grandchild's, then waits; resolves with them once printed. */
const startWatched = (extra: Partial<RunRequest> = {}) =>
  Effect.gen(function*() {
    const printed = yield* Deferred.make<ReadonlyArray<number>>()
    const fiber = yield* Effect.fork(run(request("sleep 300 & echo $PPID $$ $!; wait", {
      onOutput: (stream, chunk) =>
        stream === "stdout" ? Deferred.succeed(printed, chunk.trim().split(" ").map(Number)).pipe(Effect.asVoid) : Effect.void,
      ...extra
    })))
    const [helper, leader, grandchild] = yield* Deferred.await(printed)
    return { fiber, helper: helper!, leader: leader!, grandchild: grandchild! }
  })

describe("spawner", () => {
  it.live("a SIGKILLed spawner: the running tool's whole group is killed and the result says so", () =>
    Effect.gen(function*() {
      const { fiber, grandchild, helper, leader } = yield* startWatched()
      expect(isAlive(helper)).toBe(true)
      process.kill(helper, "SIGKILL")
      const result = yield* Fiber.join(fiber)
      expect(result.signal).toBe("SIGKILL")
      expect(result.exitCode).toBeNull()
      expect(result.notes).toEqual([expect.stringContaining("the process spawner died while the tool ran")])
      expect(yield* eventually(() => !isAlive(leader) && !isAlive(grandchild))).toBe(true)
      // The next call gets a new spawner.
      const next = yield* run(request("echo $PPID"))
      expect(next.exitCode).toBe(0)
      expect(Number(next.stdout.trim())).not.toBe(helper)
    }).pipe(Effect.provide(processRunnerLayer())), 30_000)

  it.live("SIGINT and SIGTERM do not take the spawner out (Ctrl-C reaches the server's group, not it)", () =>
    Effect.gen(function*() {
      const { fiber, grandchild, helper } = yield* startWatched({ timeout: "1 second" })
      process.kill(helper, "SIGINT")
      process.kill(helper, "SIGTERM")
      yield* Effect.sleep("100 millis")
      expect(isAlive(helper)).toBe(true)
      const result = yield* Fiber.join(fiber)
      expect(result.timedOut).toBe(true)
      expect(result.notes).toEqual([])
      expect(yield* eventually(() => !isAlive(grandchild))).toBe(true)
    }).pipe(Effect.provide(processRunnerLayer())), 30_000)

  it.live("leaves when idle and comes back for the next tool", () =>
    Effect.gen(function*() {
      const first = yield* run(request("echo $PPID"))
      const helper = Number(first.stdout.trim())
      expect(yield* eventually(() => !isAlive(helper))).toBe(true)
      const second = yield* run(request("echo $PPID"))
      expect(second.exitCode).toBe(0)
      expect(Number(second.stdout.trim())).not.toBe(helper)
    }).pipe(Effect.provide(processRunnerLayer({ spawnerIdleMs: 100 }))), 30_000)

  it.live("shutting the runner down lets the spawner go, and it takes any group it still holds with it", () =>
    Effect.gen(function*() {
      const printed = yield* Deferred.make<ReadonlyArray<number>>()
      const ids = yield* Effect.scoped(Effect.gen(function*() {
        yield* Effect.forkScoped(
          run(request("sleep 300 & echo $PPID $!; wait", {
            onOutput: (stream, chunk) =>
              stream === "stdout" ? Deferred.succeed(printed, chunk.trim().split(" ").map(Number)).pipe(Effect.asVoid) : Effect.void
          })).pipe(Effect.provide(processRunnerLayer()))
        )
        return yield* Deferred.await(printed)
      }))
      const [helper, grandchild] = ids
      expect(yield* eventually(() => !isAlive(grandchild!) && !isAlive(helper!))).toBe(true)
    }), 30_000)

  it.scopedLive("interrupted before the tool started: the tool is killed as soon as it starts", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mcp-spawner-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const pidFile = join(dir, "pid")
      // Interrupted at different moments: before the request, while the helper forks, after the start.
      for (let i = 0; i < 8; i++) {
        const fiber = yield* Effect.fork(run(request(`echo $$ > ${pidFile}.${i}; exec sleep 300`)))
        yield* Effect.sleep(`${i} millis`)
        yield* Fiber.interrupt(fiber)
      }
      yield* Effect.sleep("500 millis")
      for (let i = 0; i < 8; i++) {
        const file = `${pidFile}.${i}`
        if (existsSync(file)) {
          const pid = Number(readFileSync(file, "utf8"))
          expect(yield* eventually(() => !isAlive(pid))).toBe(true)
        }
      }
    }).pipe(Effect.provide(processRunnerLayer())), 30_000)

  it.scopedLive("a server killed while the spawner waits for it to take a tool's pipe: the tool still dies", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "mcp-spawner-"))
      const pidFile = join(dir, "pid")
      // Node's "disconnect" never comes while a pipe the helper sent awaits the other side's acknowledgement: this
      // server asks for a tool, then blocks for good, so it never acknowledges the tool's pipes, and is killed.
      const server = join(dir, "server.cjs")
      writeFileSync(
        server,
        `
        const helper = require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(helperSource)}], {
          detached: true, stdio: ["ignore", "ignore", "ignore", "ipc"], env: {}
        })
        require("node:fs").writeFileSync("${pidFile}.helper", String(helper.pid))
        const tool = ["/bin/sh", "-c", "echo $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}; exec sleep 300"]
        helper.send({ t: "spawn", id: 1, argv: tool, env: { PATH: "/usr/bin:/bin" } }, () =>
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0))
      `
      )
      const child = spawn(process.execPath, [server], { stdio: "ignore" })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          child.kill("SIGKILL")
          for (const file of [pidFile, `${pidFile}.helper`]) if (existsSync(file)) killGroup(Number(readFileSync(file, "utf8")))
          rmSync(dir, { recursive: true, force: true })
        })
      )
      expect(yield* eventually(() => existsSync(pidFile))).toBe(true)
      const tool = Number(readFileSync(pidFile, "utf8"))
      // The helper sent the pipes in the turn it started the tool; give a loaded machine time to run that turn.
      yield* Effect.sleep("300 millis")
      expect(isAlive(tool)).toBe(true)
      child.kill("SIGKILL")
      expect(yield* eventually(() => !isAlive(tool))).toBe(true)
    }), 30_000)

  it.live("a spawner that does not confirm a start in time is replaced, and the call fails with SpawnFailed", () =>
    Effect.gen(function*() {
      const first = yield* run(request("echo $PPID"))
      const stuck = Number(first.stdout.trim())
      process.kill(stuck, "SIGSTOP")
      const error = yield* Effect.flip(run(request("true")))
      expect(error._tag).toBe("SpawnFailed")
      expect(error.message).toContain("did not start the tool within 300 ms; it was replaced")
      expect(yield* eventually(() => !isAlive(stuck))).toBe(true)
      const next = yield* run(request("echo $PPID"))
      expect(next.exitCode).toBe(0)
      expect(Number(next.stdout.trim())).not.toBe(stuck)
    }).pipe(Effect.provide(processRunnerLayer({ spawnerStartMs: 300 }))), 30_000)
})
