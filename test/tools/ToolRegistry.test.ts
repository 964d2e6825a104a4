import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Layer, Schema, TestClock } from "effect"
import { renameSync, symlinkSync } from "node:fs"
import { join } from "node:path"
import { ConfigService } from "../../src/config/ConfigService.js"
import { CustomTool } from "../../src/config/schema.js"
import { Events } from "../../src/events/Events.js"
import { ProcessRunner } from "../../src/runner/ProcessRunner.js"
import { customToolSpec } from "../../src/tools/custom.js"
import { ToolRegistry, ToolRegistryLive } from "../../src/tools/ToolRegistry.js"
import type { ToolSpec } from "../../src/tools/ToolSpec.js"
import { tempDir, writeShim } from "../support/shims.js"

/** Version probes only; nothing here runs a tool. */
const runner = Layer.succeed(ProcessRunner, {
  run: (request) =>
    Effect.succeed({
      argv: [request.command, ...request.args],
      exitCode: 0,
      signal: null,
      durationMs: 1,
      stdout: "shim 1.0\n",
      stderr: "",
      truncatedStdout: false,
      truncatedStderr: false,
      timedOut: false
    })
})

const shimSpec = (name: string, binary: string): ToolSpec => ({
  name,
  title: name,
  description: "shim",
  binary,
  versionArgs: ["--version"],
  flags: [],
  templates: [],
  fixedArgs: [],
  target: { kind: "host", toArgs: (pinned) => [pinned] },
  intrusive: false,
  defaultTimeoutSeconds: 10,
  defaultConcurrency: 1,
  okExitCodes: [],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true }
})

/** Real time for the file system to answer; the registry's own timers follow the TestClock. */
const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 20)))

const until = <A, E>(effect: Effect.Effect<A, E>, ok: (a: A) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 250; i++) {
      const value = yield* effect
      if (ok(value)) return value
      yield* settle
    }
    return yield* Effect.die(new Error("condition not reached"))
  })

/** Puts `dir` first on PATH for the scope, as the server would see it at start-up. */
const withPath = (dir: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const before = process.env["PATH"]
      process.env["PATH"] = `${dir}:${before ?? ""}`
      return before
    }),
    (before) => Effect.sync(() => (process.env["PATH"] = before))
  )

const build = (specs: ReadonlyArray<ToolSpec>) =>
  Effect.gen(function*() {
    const layer = ToolRegistryLive(specs).pipe(
      Layer.provideMerge(Layer.mergeAll(ConfigService.layerWith({ tool: { availability_check_interval: 30 } }), Events.layer, runner))
    )
    const context = yield* Layer.build(layer)
    return { registry: Context.get(context, ToolRegistry), events: Context.get(context, Events) }
  })

describe("item 20: tool availability is re-checked", () => {
  it.scoped("a removed shim becomes unavailable at the next periodic check, a restored one available again", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("registry")
      writeShim(dir, "shimtool", "echo shim 1.0")
      yield* withPath(dir)
      const { registry } = yield* build([shimSpec("ShimTool", "shimtool")])
      expect((yield* registry.get("ShimTool")).path).toBe(join(dir, "shimtool"))

      renameSync(join(dir, "shimtool"), join(dir, "gone"))
      yield* TestClock.adjust("30 seconds")
      const removed = yield* until(registry.get("ShimTool"), (t) => t.path === null)
      expect(removed.unavailableReason).toMatch(/shimtool not found/)

      renameSync(join(dir, "gone"), join(dir, "shimtool"))
      yield* TestClock.adjust("30 seconds")
      const restored = yield* until(registry.get("ShimTool"), (t) => t.path !== null)
      expect(restored.path).toBe(join(dir, "shimtool"))
      expect(restored.unavailableReason).toBeNull()
    }))

  it.scoped("a spawn failure triggers a re-check at once, without waiting for the interval", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("registry")
      writeShim(dir, "shimtool", "echo shim 1.0")
      yield* withPath(dir)
      const { events, registry } = yield* build([shimSpec("ShimTool", "shimtool")])
      renameSync(join(dir, "shimtool"), join(dir, "gone"))
      expect((yield* registry.get("ShimTool")).path).not.toBeNull()
      yield* events.publish({
        type: "execution.finished",
        tool: "ShimTool",
        correlationId: "c",
        caller: "tester",
        outcome: "failure",
        errorType: "SpawnFailed",
        durationSeconds: 0
      })
      yield* until(registry.get("ShimTool"), (t) => t.path === null)
      renameSync(join(dir, "gone"), join(dir, "shimtool"))
      expect((yield* registry.recheck("ShimTool")).path).toBe(join(dir, "shimtool"))
    }))

  it.scoped("a custom tool whose binary turns into a shell is unavailable after the re-check", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("registry")
      const link = join(dir, "scanner")
      symlinkSync("/usr/bin/true", link)
      const tool = Schema.decodeUnknownSync(CustomTool)({ name: "ScanTool", description: "d", binary: link, flags: [] })
      const spec = Either.getOrThrow(customToolSpec(tool, { reservedNames: [], defaultTimeoutSeconds: 10, defaultConcurrency: 1 }))
      const { registry } = yield* build([spec])
      expect((yield* registry.get("ScanTool")).path).toBe(link)
      renameSync(link, join(dir, "old"))
      symlinkSync("/bin/sh", link)
      const after = yield* registry.recheck("ScanTool")
      expect(after.path).toBeNull()
      expect(after.unavailableReason).toMatch(/is not accepted as a custom tool/)
    }))

  it.scoped("item 6: names on Object.prototype are not tools", () =>
    Effect.gen(function*() {
      const { registry } = yield* build([])
      for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
        expect((yield* Effect.flip(registry.get(name)))._tag, name).toBe("ToolNotFound")
        expect((yield* Effect.flip(registry.recheck(name)))._tag, name).toBe("ToolNotFound")
        expect((yield* Effect.flip(registry.setEnabled(name, false)))._tag, name).toBe("ToolNotFound")
      }
    }))
})
