import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, Fiber, TestClock } from "effect"
import { makeResolver, type SystemLookup } from "../../src/policy/Resolver.js"

/**
 * Issue 13 item 11: a stalling resolver must not starve every caller's
 * host-name targets. A fake system lookup stands in for getaddrinfo: it
 * never answers for names under `.stall`, and counts its calls.
 */

const fakeSystem = () => {
  const calls: Array<string> = []
  let inFlight = 0
  let peak = 0
  const system: SystemLookup = (name) => {
    calls.push(name)
    inFlight += 1
    peak = Math.max(peak, inFlight)
    if (name.endsWith(".stall")) return new Promise(() => undefined)
    const done = () => (inFlight -= 1)
    if (name.startsWith("missing")) {
      done()
      return Promise.reject(new Error("getaddrinfo ENOTFOUND"))
    }
    done()
    return Promise.resolve(["10.0.0.7"])
  }
  return { system, calls, peak: () => peak }
}

const options = { perClient: 2, cacheSeconds: 30, negativeCacheSeconds: 5 }

describe("Resolver", () => {
  it.effect("one client's stalled lookups hold only its own share: another client's names still resolve", () =>
    Effect.gen(function*() {
      const fake = fakeSystem()
      const resolver = yield* makeResolver(fake.system, { timeout: Duration.seconds(5), maxInFlight: 3 })
      const stalled = yield* Effect.forEach(
        Array.from({ length: 10 }, (_, i) => `n${i}.stall`),
        (name) => Effect.fork(Effect.either(resolver.lookup(name, { ...options, client: "attacker" }))),
        { concurrency: "unbounded" }
      )
      yield* Effect.yieldNow()
      // The attacker has 2 lookups in the OS at most; its other names wait their turn.
      expect(fake.calls.length).toBe(2)
      expect(yield* resolver.lookup("web.lab.internal", { ...options, client: "victim" })).toEqual(["10.0.0.7"])
      yield* TestClock.adjust(Duration.seconds(5))
      for (const fiber of stalled) {
        const result = yield* Fiber.join(fiber)
        expect(Either.isLeft(result) && result.left.rule).toBe("resolution_timeout")
      }
      // Timed out, the two stalled OS lookups still hold their threads: the attacker gets no new one meanwhile.
      const again = yield* Effect.fork(Effect.either(resolver.lookup("fresh.stall", { ...options, client: "attacker" })))
      yield* Effect.yieldNow()
      expect(fake.calls.filter((name) => name === "fresh.stall")).toEqual([])
      yield* TestClock.adjust(Duration.seconds(5))
      expect(Either.isLeft(yield* Fiber.join(again))).toBe(true)
      expect(yield* resolver.lookup("other.lab.internal", { ...options, client: "victim" })).toEqual(["10.0.0.7"])
    }))

  it.effect("all clients together leave the thread pool a thread: at most maxInFlight OS lookups", () =>
    Effect.gen(function*() {
      const fake = fakeSystem()
      const resolver = yield* makeResolver(fake.system, { timeout: Duration.seconds(5), maxInFlight: 3 })
      yield* Effect.forEach(
        Array.from({ length: 8 }, (_, i) => i),
        (i) => Effect.fork(Effect.either(resolver.lookup(`c${i}.stall`, { ...options, client: `client-${i}` }))),
        { concurrency: "unbounded" }
      )
      yield* Effect.yieldNow()
      expect(fake.peak()).toBe(3)
    }))

  it.effect("answers are reused for cache_seconds, failures and timeouts for negative_cache_seconds", () =>
    Effect.gen(function*() {
      const fake = fakeSystem()
      const resolver = yield* makeResolver(fake.system, { timeout: Duration.seconds(5) })
      const ask = (name: string) => Effect.either(resolver.lookup(name, { ...options, client: "c" }))
      yield* ask("web.lab.internal")
      yield* ask("web.lab.internal")
      yield* ask("missing.lab.internal")
      const second = yield* ask("missing.lab.internal")
      expect(Either.isLeft(second) && second.left.rule).toBe("unresolvable")
      expect(fake.calls).toEqual(["web.lab.internal", "missing.lab.internal"])
      yield* TestClock.adjust(Duration.seconds(6))
      yield* ask("missing.lab.internal")
      yield* ask("web.lab.internal")
      expect(fake.calls).toEqual(["web.lab.internal", "missing.lab.internal", "missing.lab.internal"])
      yield* TestClock.adjust(Duration.seconds(30))
      yield* ask("web.lab.internal")
      expect(fake.calls.filter((name) => name === "web.lab.internal")).toHaveLength(2)
      // A name that timed out is not asked again at once: the stall costs one thread, not one per call.
      const first = yield* Effect.fork(ask("slow.stall"))
      yield* TestClock.adjust(Duration.seconds(5))
      expect(Either.isLeft(yield* Fiber.join(first))).toBe(true)
      const cached = yield* ask("slow.stall")
      expect(Either.isLeft(cached) && cached.left.rule).toBe("resolution_timeout")
      expect(fake.calls.filter((name) => name === "slow.stall")).toHaveLength(1)
    }))

  it.effect("callers asking for one name at once share one OS lookup", () =>
    Effect.gen(function*() {
      let release: (addresses: ReadonlyArray<string>) => void = () => undefined
      const calls: Array<string> = []
      const system: SystemLookup = (name) => {
        calls.push(name)
        return new Promise((resolve) => (release = resolve))
      }
      const resolver = yield* makeResolver(system)
      const fibers = yield* Effect.forEach(
        Array.from({ length: 5 }, (_, i) => i),
        (i) => Effect.fork(resolver.lookup("shared.lab.internal", { client: `c${i}` })),
        { concurrency: "unbounded" }
      )
      yield* Effect.yieldNow()
      release(["10.0.0.9"])
      for (const fiber of fibers) expect(yield* Fiber.join(fiber)).toEqual(["10.0.0.9"])
      expect(calls).toEqual(["shared.lab.internal"])
    }))
})
