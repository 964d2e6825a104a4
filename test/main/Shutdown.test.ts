import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Queue, TestClock } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
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

  it.scoped("drainOnShutdown waits for the request, then gives running executions the grace period and interrupts them", () =>
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
      yield* TestClock.adjust(Duration.seconds(2))
      expect(yield* Fiber.join(drained)).toBe("test")
      expect(Exit.isInterrupted(yield* Fiber.await(running))).toBe(true)
      expect(yield* h.gate.inFlight).toBe(0)
    }).pipe(Effect.provide(Shutdown.layer), Effect.provide(ConfigService.layerWith({ server: { shutdown_grace_period: 3 } }))))
})
