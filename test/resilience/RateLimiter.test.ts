import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Metric, TestClock } from "effect"
import type { RateLimited } from "../../src/errors.js"
import { rateLimited } from "../../src/observability/metrics.js"
import { RateLimiter, scopeOf, SWEEP_INTERVAL_MS, takeToken } from "../../src/resilience/RateLimiter.js"

const rejected = (result: Either.Either<void, RateLimited>) => {
  if (Either.isRight(result)) throw new Error("expected RateLimited")
  return result.left
}

describe("RateLimiter", () => {
  it.effect("allows a burst, then rejects with the time until the next token", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make
      yield* Effect.repeatN(limiter.take("client:a", 60, 3), 2)
      const error = rejected(yield* Effect.either(limiter.take("client:a", 60, 3)))
      expect(error).toMatchObject({ _tag: "RateLimited", scope: "client:a", retryAfterSeconds: 1 })

      yield* TestClock.adjust("400 millis")
      expect(rejected(yield* Effect.either(limiter.take("client:a", 60, 3))).retryAfterSeconds).toBe(0.6)
      yield* TestClock.adjust("600 millis")
      yield* limiter.take("client:a", 60, 3)
      expect(rejected(yield* Effect.either(limiter.take("client:a", 60, 3))).retryAfterSeconds).toBe(1)
    }))

  it.effect("refills at the configured rate, never beyond the burst", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make
      yield* Effect.repeatN(limiter.take("tool:nmap", 30, 2), 1)
      yield* TestClock.adjust("1 hour")
      yield* Effect.repeatN(limiter.take("tool:nmap", 30, 2), 1)
      expect(rejected(yield* Effect.either(limiter.take("tool:nmap", 30, 2))).retryAfterSeconds).toBe(2)
      yield* TestClock.adjust("4 seconds")
      yield* Effect.repeatN(limiter.take("tool:nmap", 30, 2), 1)
      expect(Either.isLeft(yield* Effect.either(limiter.take("tool:nmap", 30, 2)))).toBe(true)
    }))

  it.effect("keys are independent", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make
      yield* limiter.take("client:a", 1, 1)
      expect(Either.isLeft(yield* Effect.either(limiter.take("client:a", 1, 1)))).toBe(true)
      yield* limiter.take("client:b", 1, 1)
      yield* limiter.take("tool:a", 1, 1)
    }))

  it.effect("drops buckets that have filled up again, so memory follows the active keys", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make
      yield* Effect.forEach(Array.from({ length: 500 }, (_, i) => `client:${i}`), (key) => limiter.take(key, 60, 5), { discard: true })
      yield* Effect.repeatN(limiter.take("client:busy", 1, 5), 4)
      expect(yield* limiter.size).toBe(501)
      // One token back per second: after the sweep interval the 500 light users are full, the busy one is not.
      yield* TestClock.adjust(`${SWEEP_INTERVAL_MS} millis`)
      yield* limiter.take("client:new", 60, 5)
      expect(yield* limiter.size).toBe(2)
      // The busy client's bucket survived the sweep with its state: one token refilled, not five.
      yield* limiter.take("client:busy", 1, 5)
      expect(Either.isLeft(yield* Effect.either(limiter.take("client:busy", 1, 5)))).toBe(true)
    }))

  it.effect("counts rejections by scope, without the client id", () =>
    Effect.gen(function*() {
      const limiter = yield* RateLimiter.make
      const counter = Metric.tagged(rateLimited, "scope", "probe")
      const before = (yield* Metric.value(counter)).count
      yield* limiter.take("probe:x", 60, 1)
      yield* Effect.either(limiter.take("probe:x", 60, 1))
      yield* Effect.either(limiter.take("probe:y", 60, 1))
      yield* Effect.either(limiter.take("probe:y", 60, 1))
      expect((yield* Metric.value(counter)).count - before).toBe(2)
    }))

  it("takeToken starts a new bucket full and applies a changed burst at once", () => {
    const first = takeToken(undefined, 0, 60, 10)
    expect(first).toMatchObject({ _tag: "Taken", bucket: { tokens: 9 } })
    const shrunk = takeToken(first.bucket, 0, 60, 1)
    expect(shrunk).toMatchObject({ _tag: "Taken", bucket: { tokens: 0 } })
    expect(scopeOf("client:key:1")).toBe("client")
    expect(scopeOf("global")).toBe("global")
  })
})
