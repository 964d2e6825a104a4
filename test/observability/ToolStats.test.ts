import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, FastCheck as fc, Fiber } from "effect"
import { percentile, ToolStats, WINDOW_SIZE } from "../../src/observability/ToolStats.js"

describe("percentile", () => {
  it("uses the nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(values, 50)).toBe(50)
    expect(percentile(values, 95)).toBe(95)
    expect(percentile(values, 99)).toBe(99)
    expect(percentile(values, 100)).toBe(100)
    expect(percentile([7], 99)).toBe(7)
    expect(percentile([3, 1, 2], 50)).toBe(2)
    expect(percentile([], 50)).toBeNull()
  })

  it.prop("is an observed value between min and max, monotonic in p", [
    fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1 }),
    fc.double({ min: 0, max: 100, noNaN: true }),
    fc.double({ min: 0, max: 100, noNaN: true })
  ], ([values, p, q]) => {
    const a = percentile(values, Math.min(p, q))
    const b = percentile(values, Math.max(p, q))
    expect(values).toContain(a)
    expect(a! <= b!).toBe(true)
    expect(a! >= Math.min(...values) && b! <= Math.max(...values)).toBe(true)
  })
})

describe("ToolStats", () => {
  it.effect("computes rates, percentiles, errors and timeouts over the last executions", () =>
    Effect.gen(function*() {
      const stats = yield* ToolStats
      for (let i = 1; i <= 8; i++) yield* stats.record("NmapTool", { durationSeconds: i, outcome: "success", errorType: null })
      yield* stats.record("NmapTool", { durationSeconds: 9, outcome: "timeout", errorType: "timeout" })
      yield* stats.record("NmapTool", { durationSeconds: 0.01, outcome: "rejected", errorType: "TargetRejected" })

      const s = yield* stats.forTool("NmapTool")
      expect(s.total).toBe(10)
      expect(s.successRate).toBeCloseTo(0.8)
      expect(s.latencySeconds).toEqual({ p50: 4, p95: 9, p99: 9 })
      expect(s.errorsByType).toEqual({ timeout: 1, TargetRejected: 1 })
      expect(s.timeouts).toBe(1)
      expect(Object.keys(yield* stats.snapshot)).toEqual(["NmapTool"])
    }).pipe(Effect.provide(ToolStats.layer)))

  it.effect("keeps only the newest executions in the window but counts them all", () =>
    Effect.gen(function*() {
      const stats = yield* ToolStats
      for (let i = 0; i < WINDOW_SIZE; i++) {
        yield* stats.record("T", { durationSeconds: 100, outcome: "failure", errorType: "exit_code" })
      }
      for (let i = 0; i < WINDOW_SIZE; i++) yield* stats.record("T", { durationSeconds: 1, outcome: "success", errorType: null })
      const s = yield* stats.forTool("T")
      expect(s.total).toBe(2 * WINDOW_SIZE)
      expect(s.window).toBe(WINDOW_SIZE)
      expect(s.successRate).toBe(1)
      expect(s.errorsByType).toEqual({})
      expect(s.latencySeconds.p99).toBe(1)
    }).pipe(Effect.provide(ToolStats.layer)))

  it.effect("counts active executions until they end, also when interrupted", () =>
    Effect.gen(function*() {
      const stats = yield* ToolStats
      const started = yield* Deferred.make<void>()
      const fiber = yield* stats.trackActive("T", Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never)))
        .pipe(Effect.fork)
      yield* Deferred.await(started)
      expect((yield* stats.forTool("T")).active).toBe(1)
      yield* Fiber.interrupt(fiber)
      expect((yield* stats.forTool("T")).active).toBe(0)
      yield* stats.trackActive("T", Effect.fail("boom")).pipe(Effect.ignore)
      const s = yield* stats.forTool("T")
      expect(s.active).toBe(0)
      expect(s.successRate).toBeNull()
      expect(s.latencySeconds.p50).toBeNull()
    }).pipe(Effect.provide(ToolStats.layer)))
})
