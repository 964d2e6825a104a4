import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, Option, Queue, TestClock } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { Events } from "../../src/events/Events.js"
import { ExecutionGate } from "../../src/execution/ExecutionGate.js"
import { drainOnShutdown, Shutdown } from "../../src/main/Shutdown.js"
import { caller, makeHarness } from "../execution/support.js"

describe("Shutdown", () => {
  it.effect("keeps the first request, also for a program that asks later; later requests are no-ops", () =>
    Effect.gen(function*() {
      const shutdown = yield* Shutdown
      expect(yield* shutdown.request("SIGTERM")).toBe(true)
      expect(yield* shutdown.request("SIGINT")).toBe(false)
      expect(yield* shutdown.requested).toBe("SIGTERM")
    }).pipe(Effect.provide(Shutdown.layer)))

  it.scoped(
    "drainOnShutdown waits for the request, gives running executions the grace period, then kills them: they fail with a typed error",
    () =>
      Effect.gen(function*() {
        const h = yield* makeHarness()
        yield* h.fake.behave({ _tag: "Hang" })
        const running = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
        yield* Queue.take(h.fake.started)
        const shutdown = yield* Shutdown
        const drained = yield* Effect.fork(drainOnShutdown.pipe(Effect.provideService(ExecutionGate, h.gate)))
        yield* TestClock.adjust(Duration.minutes(1))
        // Nothing happens before the request, however long it takes.
        expect(Option.isNone(yield* Fiber.poll(running))).toBe(true)
        yield* shutdown.request("test")
        yield* TestClock.adjust(Duration.seconds(2))
        expect(Option.isNone(yield* Fiber.poll(running))).toBe(true)
        expect(yield* h.gate.draining).toBe(true)
        yield* TestClock.adjust(Duration.seconds(2))
        expect(yield* Fiber.join(drained)).toBe("test")
        const result = yield* Fiber.join(running).pipe(Effect.either)
        expect(Either.isLeft(result) && [result.left._tag, result.left.message]).toEqual([
          "ToolUnavailable",
          expect.stringMatching(/still running when the shutdown grace period .* ended, so its process was killed/)
        ])
        // The process was stopped before the drain returned, and the run is audited as cancelled with its argv.
        expect((yield* Queue.takeAll(h.fake.interrupted)).length).toBe(1)
        const outcome = (yield* h.audit).find((line) => line["outcome"] === "cancelled")
        expect((outcome?.["argv"] as Array<string>).length).toBeGreaterThan(1)
        expect(yield* h.gate.inFlight).toBe(0)
      }).pipe(
        Effect.provide(Shutdown.layer),
        Effect.provide(Events.layer),
        Effect.provide(ConfigService.layerWith({ server: { shutdown_grace_period: 3 } }))
      )
  )

  it.scoped("issue 13 item 19: calls still waiting for a slot when the drain begins are turned away, never started", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ tools: { NmapTool: { concurrency: 1 } }, rate_limit: { enabled: false } })
      yield* h.fake.behave({ _tag: "Hang" })
      const running = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* Queue.take(h.fake.started)
      const queued = yield* Effect.forEach(
        [1, 2, 3],
        () => Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)),
        { concurrency: "unbounded" }
      )
      yield* Effect.iterate(0, { while: (n) => n < 3, body: () => h.limiter.queued("NmapTool") })
      const drained = yield* Effect.fork(h.gate.drain(Duration.seconds(30)))
      for (const fiber of queued) {
        const result = yield* Fiber.join(fiber).pipe(Effect.either)
        expect(Either.isLeft(result) && [result.left._tag, result.left.message]).toEqual([
          "ToolUnavailable",
          expect.stringMatching(/shutting down: this call was still waiting for a free slot and was not started/)
        ])
      }
      // A call arriving now is refused before anything else.
      const late = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.either)
      expect(Either.isLeft(late) && late.left.message).toMatch(/accepts no new calls/)
      expect((yield* h.fake.requests).length).toBe(1)
      yield* Fiber.interrupt(running)
      expect(yield* Fiber.join(drained)).toBe(0)
      const rejected = (yield* h.audit).filter((line) => line["outcome"] === "rejected")
      expect(rejected.map((line) => [line["error_tag"], line["argv"]])).toEqual([
        ["ToolUnavailable", []],
        ["ToolUnavailable", []],
        ["ToolUnavailable", []]
      ])
    }))
})
