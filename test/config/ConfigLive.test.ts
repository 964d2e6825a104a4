import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Logger, Queue, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigLive, loadOnce } from "../../src/config/ConfigLive.js"
import { ConfigService } from "../../src/config/ConfigService.js"
import { Events, type TimedEvent } from "../../src/events/Events.js"

const tempFile = (text: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-config-"))
  const file = path.join(dir, "config.yaml")
  fs.writeFileSync(file, text)
  return file
}

/** Replaces the file the way editors and ConfigMaps do: write elsewhere, then rename over it. */
const replaceFile = (file: string, text: string) => {
  const tmp = `${file}.tmp`
  fs.writeFileSync(tmp, text)
  fs.renameSync(tmp, file)
}

/** What the server does at start-up: load once, then start the live layer from that load. */
const withConfig = (file: string, env: Record<string, string> = {}) =>
  Layer.unwrapEffect(Effect.map(loadOnce({ file, env }), (loaded) => ConfigLive({ file, env }, loaded))).pipe(
    Layer.provideMerge(Events.layer),
    Layer.provide(NodeFileSystem.layer)
  )

/** A logger that keeps every message, for counting what was logged. */
const capture = () => {
  const messages: Array<string> = []
  const logger = Logger.make(({ message }) => {
    messages.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return { messages, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const nextEvent = (queue: Queue.Dequeue<TimedEvent>, type: TimedEvent["type"]) =>
  Queue.take(queue).pipe(Effect.repeat({ until: (e) => e.type === type }))

describe("ConfigLive", () => {
  it.scopedLive("applies a valid file change without a restart", () =>
    Effect.gen(function*() {
      const file = tempFile("server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 100\n")
      const context = yield* Layer.build(withConfig(file))
      const config = Effect.provide(ConfigService, context)
      const events = yield* Effect.provide(Events, context)
      const queue = yield* events.subscribe
      expect((yield* (yield* config).get).security.timeout_seconds).toBe(100)

      replaceFile(file, "server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 200\n  allow_intrusive: true\n")
      const event = yield* nextEvent(queue, "config.reloaded")
      expect(event.type === "config.reloaded" && event.changed).toEqual(["security.allow_intrusive", "security.timeout_seconds"])
      const current = yield* (yield* config).get
      expect(current.security.timeout_seconds).toBe(200)
      expect(current.security.allow_intrusive).toBe(true)
    }), 10_000)

  it.scopedLive("rejects an invalid change and keeps the previous configuration", () =>
    Effect.gen(function*() {
      const file = tempFile("server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 100\n")
      const context = yield* Layer.build(withConfig(file))
      const service = yield* Effect.provide(ConfigService, context)
      const queue = yield* (yield* Effect.provide(Events, context)).subscribe

      replaceFile(file, "server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 5\n  bogus_key: 1\n")
      const rejected = yield* nextEvent(queue, "config.rejected")
      expect(rejected.type === "config.rejected" && rejected.issues.join()).toContain("security.bogus_key")
      expect((yield* service.get).security.timeout_seconds).toBe(100)

      fs.writeFileSync(file, "server: [this is not yaml\n")
      yield* nextEvent(queue, "config.rejected")
      expect((yield* service.get).security.timeout_seconds).toBe(100)

      replaceFile(file, "server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 150\n")
      yield* nextEvent(queue, "config.reloaded")
      expect((yield* service.get).security.timeout_seconds).toBe(150)
    }), 10_000)

  it.scopedLive("keeps environment overrides above the reloaded file", () =>
    Effect.gen(function*() {
      const file = tempFile("server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 100\n")
      const context = yield* Layer.build(withConfig(file, { MCP_SECURITY_TIMEOUT_SECONDS: "42" }))
      const service = yield* Effect.provide(ConfigService, context)
      const queue = yield* (yield* Effect.provide(Events, context)).subscribe
      expect((yield* service.get).security.timeout_seconds).toBe(42)
      replaceFile(file, "server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 300\n  max_args_length: 1000\n")
      yield* nextEvent(queue, "config.reloaded")
      const current = yield* service.get
      expect(current.security.timeout_seconds).toBe(42)
      expect(current.security.max_args_length).toBe(1000)
    }), 10_000)

  it.scopedLive("publishes changes on the changes stream", () =>
    Effect.gen(function*() {
      const file = tempFile("server:\n  config_watch_interval: 0.1\n")
      const context = yield* Layer.build(withConfig(file))
      const service = yield* Effect.provide(ConfigService, context)
      const seen = yield* service.changes.pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      replaceFile(file, "server:\n  config_watch_interval: 0.1\nhealth:\n  cpu_threshold: 50\n")
      const all = yield* seen.await
      expect(Exit.isSuccess(all)).toBe(true)
    }), 10_000)

  it.scopedLive("logs each start-up warning once, and starts from the configuration that was loaded", () =>
    Effect.gen(function*() {
      const file = tempFile("server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 100\n  max_memory_mb: 1\n")
      const { messages, layer } = capture()
      const context = yield* Layer.build(withConfig(file, { MCP_NOT_A_SETTING: "1" })).pipe(Effect.provide(layer))
      const service = yield* Effect.provide(ConfigService, context)
      expect((yield* service.get).security.timeout_seconds).toBe(100)
      // A few polls of the unchanged file: none of them loads or logs again.
      yield* Effect.sleep("350 millis")
      const warnings = messages.filter((m) => m.startsWith("config: "))
      expect(warnings.filter((m) => m.includes("MCP_NOT_A_SETTING"))).toHaveLength(1)
      expect(warnings.filter((m) => m.includes("max_memory_mb"))).toHaveLength(1)
      expect(warnings).toHaveLength(2)
    }), 10_000)

  it.effect("fails start-up with a typed error naming the bad key", () =>
    Effect.gen(function*() {
      const file = tempFile("securty:\n  allow_intrusive: true\n")
      const exit = yield* Layer.build(withConfig(file)).pipe(Effect.scoped, Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("securty")
    }))
})
