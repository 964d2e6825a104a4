import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Either, Exit, Fiber, Layer, Ref, Schema, SubscriptionRef } from "effect"
import { ConfigService, mergeDeep } from "../../src/config/ConfigService.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { ConcurrencyLimiter } from "../../src/resilience/ConcurrencyLimiter.js"

/** Waits, by yielding to the other fibers, until `condition` holds; no clock involved. */
const eventually = (condition: Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    while (!(yield* condition)) yield* Effect.yieldNow()
  })

const counts = (limiter: ConcurrencyLimiter["Type"], tool: string) =>
  Effect.all({ active: limiter.active(tool), queued: limiter.queued(tool) })

const is = (limiter: ConcurrencyLimiter["Type"], tool: string, active: number, queued: number) =>
  eventually(Effect.map(counts(limiter, tool), (c) => c.active === active && c.queued === queued))

/** A call that signals when it starts running and then blocks until `gate` opens. */
const blocked = (gate: Deferred.Deferred<void>) =>
  Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    return { started, effect: Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(gate))) }
  })

/** `n` calls of tool `t` that block until `gate` opens, each asking for `limit`. */
const blockedCalls = (limiter: ConcurrencyLimiter["Type"], limit: number | Effect.Effect<number>, n: number) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    const fibers = yield* Effect.forEach(
      Array.from({ length: n }),
      () => Effect.fork(limiter.withPermit("t", limit, 10)(Deferred.await(gate)))
    )
    return { gate, fibers }
  })

describe("ConcurrencyLimiter", () => {
  it.effect("never runs more than the limit under 50 concurrent callers", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const gate = yield* Deferred.make<void>()
      const running = yield* Ref.make(0)
      const peak = yield* Ref.make(0)
      const done = yield* Ref.make(0)
      const call = Effect.gen(function*() {
        const now = yield* Ref.updateAndGet(running, (n) => n + 1)
        yield* Ref.update(peak, (p) => Math.max(p, now))
        yield* Deferred.await(gate)
        yield* Ref.update(running, (n) => n - 1)
        yield* Ref.update(done, (n) => n + 1)
      })
      const fibers = yield* Effect.forEach(
        Array.from({ length: 50 }),
        () => Effect.fork(limiter.withPermit("nmap", 3, 100)(call))
      )
      yield* is(limiter, "nmap", 3, 47)
      expect(yield* Ref.get(running)).toBe(3)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      expect(yield* Ref.get(done)).toBe(50)
      expect(yield* Ref.get(peak)).toBe(3)
      expect(yield* counts(limiter, "nmap")).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("fails with ToolBusy at once when the queue is full", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const gate = yield* Deferred.make<void>()
      const { effect, started } = yield* blocked(gate)
      const permit = limiter.withPermit("t", 1, 2)
      const fibers = [yield* Effect.fork(permit(effect))]
      yield* Deferred.await(started)
      fibers.push(yield* Effect.fork(permit(Deferred.await(gate))), yield* Effect.fork(permit(Deferred.await(gate))))
      yield* is(limiter, "t", 1, 2)
      const ran = yield* Ref.make(false)
      const result = yield* Effect.either(permit(Ref.set(ran, true)))
      expect(Either.isLeft(result) && result.left._tag).toBe("ToolBusy")
      expect(yield* Ref.get(ran)).toBe(false)
      expect(Either.isLeft(yield* Effect.either(limiter.withPermit("t", 1, 0)(Effect.void)))).toBe(true)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
    }))

  it.effect("an interrupted waiter leaves the queue and never runs", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const gate = yield* Deferred.make<void>()
      const { effect, started } = yield* blocked(gate)
      const permit = limiter.withPermit("t", 1, 1)
      const running = yield* Effect.fork(permit(effect))
      yield* Deferred.await(started)
      const ran = yield* Ref.make(false)
      const waiting = yield* Effect.fork(permit(Ref.set(ran, true)))
      yield* is(limiter, "t", 1, 1)
      yield* Fiber.interrupt(waiting)
      expect(yield* counts(limiter, "t")).toEqual({ active: 1, queued: 0 })
      const next = yield* Effect.fork(permit(Effect.succeed("next")))
      yield* is(limiter, "t", 1, 1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(running)
      expect(yield* Fiber.join(next)).toBe("next")
      expect(yield* Ref.get(ran)).toBe(false)
    }))

  it.effect("releases the permit when the call fails, dies or is interrupted, and hands it to the next waiter", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const permit = limiter.withPermit("t", 1, 4)
      expect(Exit.isFailure(yield* Effect.exit(permit(Effect.fail("boom"))))).toBe(true)
      expect(Exit.isFailure(yield* Effect.exit(permit(Effect.die("crash"))))).toBe(true)
      expect(yield* counts(limiter, "t")).toEqual({ active: 0, queued: 0 })

      const { effect, started } = yield* blocked(yield* Deferred.make<void>())
      const stuck = yield* Effect.fork(permit(effect))
      yield* Deferred.await(started)
      const waiter = yield* Effect.fork(permit(Effect.succeed("ran")))
      yield* is(limiter, "t", 1, 1)
      yield* Fiber.interrupt(stuck)
      expect(yield* Fiber.join(waiter)).toBe("ran")
      expect(yield* counts(limiter, "t")).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("a raised limit admits waiters at once; a lowered one lets running calls finish and admits no one meanwhile", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const { fibers, gate } = yield* blockedCalls(limiter, 1, 3)
      yield* is(limiter, "t", 1, 2)
      fibers.push(yield* Effect.fork(limiter.withPermit("t", 3, 10)(Deferred.await(gate))))
      yield* is(limiter, "t", 3, 1)

      const lowered = yield* Effect.fork(limiter.withPermit("t", 1, 10)(Effect.void))
      yield* is(limiter, "t", 3, 2)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll([...fibers, lowered])
      expect(yield* counts(limiter, "t")).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("tools are limited independently", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const gate = yield* Deferred.make<void>()
      const { effect, started } = yield* blocked(gate)
      const fiber = yield* Effect.fork(limiter.withPermit("a", 1, 0)(effect))
      yield* Deferred.await(started)
      expect(yield* limiter.withPermit("b", 1, 0)(Effect.succeed(1))).toBe(1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(fiber)
    }))
})

describe("item 18: a hot-reloaded higher limit wakes calls already waiting", () => {
  const configWith = (concurrency: number) => Schema.decodeUnknownSync(AppConfig)(mergeDeep(defaults, { tools: { t: { concurrency } } }))

  it.scoped("through the layer, when the limit is read from the configuration", () =>
    Effect.gen(function*() {
      const ref = yield* SubscriptionRef.make(configWith(1))
      const config = Layer.succeed(ConfigService, { get: SubscriptionRef.get(ref), changes: ref.changes })
      const limiter = Context.get(yield* Layer.build(ConcurrencyLimiter.layer.pipe(Layer.provide(config))), ConcurrencyLimiter)
      const limit = Effect.map(SubscriptionRef.get(ref), (c) => c.tools["t"]?.concurrency ?? 1)
      const { fibers, gate } = yield* blockedCalls(limiter, limit, 4)
      yield* is(limiter, "t", 1, 3)
      // No new call arrives: only the reload can admit the waiting ones.
      yield* SubscriptionRef.set(ref, configWith(3))
      yield* is(limiter, "t", 3, 1)
      yield* SubscriptionRef.set(ref, configWith(1))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
      expect(yield* counts(limiter, "t")).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("setLimit applies a number at once", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const { fibers, gate } = yield* blockedCalls(limiter, 1, 3)
      yield* is(limiter, "t", 1, 2)
      yield* limiter.setLimit("t", 2)
      yield* is(limiter, "t", 2, 1)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.joinAll(fibers)
    }))
})

describe("item 11: each client holds at most its share of a tool", () => {
  /** `n` calls of `client` to tool `t` (limit 4, queue 8, share ½) that block until `gate` opens. */
  const callsOf = (limiter: ConcurrencyLimiter["Type"], client: string, n: number, gate: Deferred.Deferred<void>) =>
    Effect.forEach(
      Array.from({ length: n }),
      () => Effect.fork(Effect.either(limiter.withPermit("t", 4, 8, { client, share: 0.5 })(Deferred.await(gate)))),
      { concurrency: "unbounded" }
    )

  it.effect("one caller's burst fills its own share of the running slots and queue, not the others'", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const gate = yield* Deferred.make<void>()
      const greedy = yield* callsOf(limiter, "greedy", 20, gate)
      // 2 of the 4 slots run and 4 of the 8 places wait; the other 14 calls are turned away at once.
      yield* is(limiter, "t", 2, 4)
      const turnedAway = (yield* Effect.forEach(greedy.slice(6), Fiber.join)).map((r) => r._tag === "Left" && r.left.message)
      expect(turnedAway).toHaveLength(14)
      for (const message of turnedAway) expect(message).toMatch(/busy for greedy: it holds its share/)
      // Another client still runs at once, and still finds room to wait.
      const polite = yield* callsOf(limiter, "polite", 3, gate)
      yield* is(limiter, "t", 4, 5)
      yield* Deferred.succeed(gate, undefined)
      for (const fiber of [...greedy.slice(0, 6), ...polite]) expect((yield* Fiber.join(fiber))._tag).toBe("Right")
      expect(yield* counts(limiter, "t")).toEqual({ active: 0, queued: 0 })
    }))

  it.effect("a freed slot goes to the oldest waiter whose client is under its share", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const order: Array<string> = []
      const gates = [yield* Deferred.make<void>(), yield* Deferred.make<void>()]
      const run = (client: string, gate: Deferred.Deferred<void> | undefined) =>
        Effect.fork(
          limiter.withPermit("t", 2, 8, { client, share: 0.5 })(
            Effect.sync(() => order.push(client)).pipe(Effect.zipRight(gate === undefined ? Effect.void : Deferred.await(gate)))
          )
        )
      const a1 = yield* run("a", gates[0])
      const b1 = yield* run("b", gates[1])
      yield* is(limiter, "t", 2, 0)
      // a waits first, then b: when b's slot frees, a is at its share (1 of 2) and b's waiter goes first.
      const a2 = yield* run("a", undefined)
      const b2 = yield* run("b", undefined)
      yield* is(limiter, "t", 2, 2)
      yield* Deferred.succeed(gates[1]!, undefined)
      yield* Fiber.join(b1)
      yield* Fiber.join(b2)
      expect(order).toEqual(["a", "b", "b"])
      yield* Deferred.succeed(gates[0]!, undefined)
      yield* Fiber.joinAll([a1, a2])
      expect(order).toEqual(["a", "b", "b", "a"])
    }))

  it.effect("a waiter whose abort fires leaves the queue with the abort's error and never runs", () =>
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const gate = yield* Deferred.make<void>()
      const stop = yield* Deferred.make<never, string>()
      const running = yield* Effect.fork(limiter.withPermit("t", 1, 4)(Deferred.await(gate)))
      yield* is(limiter, "t", 1, 0)
      const ran = yield* Ref.make(false)
      const waiting = yield* Effect.fork(
        Effect.either(limiter.withPermit("t", 1, 4, { abort: Deferred.await(stop) })(Ref.set(ran, true)))
      )
      yield* is(limiter, "t", 1, 1)
      yield* Deferred.fail(stop, "draining")
      expect(yield* Fiber.join(waiting)).toEqual(Either.left("draining"))
      expect(yield* counts(limiter, "t")).toEqual({ active: 1, queued: 0 })
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(running)
      expect(yield* Ref.get(ran)).toBe(false)
    }))
})
