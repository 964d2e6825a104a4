import { describe, expect, it } from "@effect/vitest"
import {
  Clock,
  Deferred,
  Effect,
  Either,
  Exit,
  FastCheck as fc,
  Fiber,
  Layer,
  Metric,
  Queue,
  Random,
  Ref,
  Schema,
  SubscriptionRef,
  TestClock
} from "effect"
import { ConfigService, mergeDeep } from "../../src/config/ConfigService.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { Events } from "../../src/events/Events.js"
import { breakerCalls, breakerState, breakerTransitions } from "../../src/observability/metrics.js"
import {
  type BreakerSettings,
  CircuitBreakers,
  effectiveTimeout,
  recoveryTimeout,
  timeoutCountsAgainstBreaker,
  timeoutFloor
} from "../../src/resilience/CircuitBreaker.js"

const settings = (patch: Partial<BreakerSettings> = {}) =>
  Schema.decodeUnknownSync(AppConfig)(mergeDeep(defaults, { circuit_breaker: patch }))

/** A ConfigService whose configuration the test changes at will, as a hot reload would. */
const liveConfig = (patch: Partial<BreakerSettings>) =>
  Effect.gen(function*() {
    const ref = yield* SubscriptionRef.make(settings(patch))
    const layer = Layer.succeed(ConfigService, { get: SubscriptionRef.get(ref), changes: ref.changes })
    const breakers = yield* CircuitBreakers.make.pipe(Effect.provide(Layer.merge(layer, Events.layer)))
    return { breakers, ref }
  })

const makeBreakers = (patch: Partial<BreakerSettings> = {}) => Effect.map(liveConfig(patch), ({ breakers }) => breakers)

const byExit = { isFailure: Exit.isFailure }

const fail = (breakers: CircuitBreakers["Type"], tool: string) =>
  breakers.protect(tool, Effect.fail("crashed" as const), byExit).pipe(Effect.either)

const succeed = (breakers: CircuitBreakers["Type"], tool: string) =>
  breakers.protect(tool, Effect.succeed("ok" as const), byExit).pipe(Effect.either)

const failTimes = (breakers: CircuitBreakers["Type"], tool: string, n: number) => Effect.repeatN(fail(breakers, tool), n - 1)

const rejection = (result: Either.Either<unknown, unknown>) => {
  if (Either.isRight(result)) throw new Error("expected a rejection")
  const error = result.left as { _tag: string; retryAfterSeconds: number }
  expect(error._tag).toBe("CircuitOpen")
  return error
}

const snapshotOf = (breakers: CircuitBreakers["Type"], tool: string) =>
  Effect.map(breakers.snapshot, (all) => all.find((s) => s.tool === tool)!)

describe("CircuitBreakers", () => {
  it.effect("opens after the configured number of consecutive failures and rejects without running the call", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 3, recovery_timeout: 60 })
      yield* failTimes(breakers, "t", 2)
      yield* succeed(breakers, "t")
      yield* failTimes(breakers, "t", 2)
      expect(yield* breakers.state("t")).toBe("CLOSED")
      yield* fail(breakers, "t")
      expect(yield* breakers.state("t")).toBe("OPEN")

      const ran = yield* Ref.make(false)
      yield* TestClock.adjust("10 seconds")
      const result = yield* breakers.protect("t", Ref.set(ran, true), byExit).pipe(Effect.either)
      expect(rejection(result).retryAfterSeconds).toBe(50)
      expect(yield* Ref.get(ran)).toBe(false)
    }))

  it.effect("goes half-open after the recovery timeout and closes after the required successes", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 30, half_open_success_threshold: 2 })
      yield* fail(breakers, "t")
      yield* TestClock.adjust("29 seconds")
      expect(yield* breakers.state("t")).toBe("OPEN")
      yield* TestClock.adjust("1 second")
      expect(yield* breakers.state("t")).toBe("HALF_OPEN")
      expect(Either.isRight(yield* succeed(breakers, "t"))).toBe(true)
      expect(yield* breakers.state("t")).toBe("HALF_OPEN")
      yield* succeed(breakers, "t")
      expect(yield* breakers.state("t")).toBe("CLOSED")
      const snap = yield* snapshotOf(breakers, "t")
      expect(snap).toMatchObject({ consecutiveFailures: 0, openedAt: null, retryAt: null, totals: { success: 2, failure: 1, rejected: 0 } })
    }))

  it.effect("re-opens on a half-open failure with an exponentially backed-off, jittered, capped timeout", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 10, max_recovery_timeout: 100 })
      const cycle = Effect.gen(function*() {
        const { recoveryTimeoutSeconds } = yield* snapshotOf(breakers, "t")
        yield* TestClock.adjust(`${recoveryTimeoutSeconds! * 1000} millis`)
        expect(yield* breakers.state("t")).toBe("HALF_OPEN")
        yield* fail(breakers, "t")
        expect(yield* breakers.state("t")).toBe("OPEN")
        return (yield* snapshotOf(breakers, "t")).recoveryTimeoutSeconds
      })
      yield* fail(breakers, "t")
      expect((yield* snapshotOf(breakers, "t")).recoveryTimeoutSeconds).toBe(10)
      // Random.fixed([0.5]) is the jitter's midpoint: the timeouts are exactly 10 · 2^n.
      const timeouts = yield* Effect.all([cycle, cycle, cycle, cycle, cycle])
      expect(timeouts).toEqual([20, 40, 80, 100, 100])
      const result = yield* succeed(breakers, "t")
      expect(rejection(result).retryAfterSeconds).toBe(100)

      yield* TestClock.adjust("100 seconds")
      yield* succeed(breakers, "t")
      expect(yield* breakers.state("t")).toBe("CLOSED")
      yield* fail(breakers, "t")
      expect((yield* snapshotOf(breakers, "t")).recoveryTimeoutSeconds).toBe(10)
    }).pipe(Effect.withRandom(Random.fixed([0.5]))))

  it.effect("jitter comes from the Random service", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 10, max_recovery_timeout: 100 })
      yield* fail(breakers, "t")
      yield* TestClock.adjust("10 seconds")
      yield* fail(breakers, "t")
      expect((yield* snapshotOf(breakers, "t")).recoveryTimeoutSeconds).toBe(16)
    }).pipe(Effect.withRandom(Random.fixed([0]))))

  it.prop(
    "recovery timeouts stay within the jitter band and never exceed the cap",
    { reopens: Schema.Int.pipe(Schema.between(0, 40)), random: Schema.Number.pipe(Schema.between(0, 0.999999)) },
    ({ random, reopens }) => {
      const s = settings({ recovery_timeout: 5, max_recovery_timeout: 600 }).circuit_breaker
      const t = recoveryTimeout(s, reopens, random)
      const base = 5 * 2 ** reopens
      expect(t).toBeLessThanOrEqual(600)
      expect(t).toBeGreaterThanOrEqual(Math.min(600, base * 0.8))
      expect(t).toBeLessThanOrEqual(base * 1.2)
    }
  )

  it.effect("a step of the wall clock neither lets an open circuit retry early nor holds it open", () =>
    Effect.gen(function*() {
      const test = yield* Effect.clock
      let step = 0
      // The test clock, with its wall-clock reading stepped back by `step` (an NTP correction, an operator); negative steps forward.
      const stepped: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => test.unsafeCurrentTimeMillis() - step,
        unsafeCurrentTimeNanos: () => test.unsafeCurrentTimeNanos(),
        currentTimeMillis: Effect.sync(() => test.unsafeCurrentTimeMillis() - step),
        currentTimeNanos: test.currentTimeNanos,
        sleep: (duration) => test.sleep(duration)
      }
      const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 60 })
      const state = breakers.state("t").pipe(Effect.withClock(stepped))
      yield* fail(breakers, "t").pipe(Effect.withClock(stepped))
      expect(yield* state).toBe("OPEN")
      step = -3_600_000
      yield* TestClock.adjust("30 seconds")
      expect(yield* state).toBe("OPEN")
      step = 3_600_000
      yield* TestClock.adjust("31 seconds")
      expect(yield* state).toBe("HALF_OPEN")
    }))

  it.effect("forceOpen holds the circuit open until forceClose", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ recovery_timeout: 60 })
      yield* breakers.forceOpen("t")
      yield* TestClock.adjust("1 hour")
      expect(yield* breakers.state("t")).toBe("OPEN")
      expect(rejection(yield* succeed(breakers, "t")).retryAfterSeconds).toBe(60)
      expect(yield* snapshotOf(breakers, "t")).toMatchObject({ forced: true, retryAt: null })
      yield* breakers.forceClose("t")
      expect(yield* breakers.state("t")).toBe("CLOSED")
      expect(yield* succeed(breakers, "t")).toEqual(Either.right("ok"))
    }))

  it.effect("forceClose forgets failures and backoff", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 2, recovery_timeout: 10 })
      yield* failTimes(breakers, "t", 2)
      yield* TestClock.adjust("10 seconds")
      yield* fail(breakers, "t")
      yield* breakers.forceClose("t")
      yield* fail(breakers, "t")
      expect(yield* breakers.state("t")).toBe("CLOSED")
      yield* fail(breakers, "t")
      expect((yield* snapshotOf(breakers, "t")).recoveryTimeoutSeconds).toBe(10)
    }))

  it.effect("lets only the configured number of half-open trials run at once", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 1, half_open_success_threshold: 2 })
      yield* fail(breakers, "t")
      yield* TestClock.adjust("1 second")
      const gate = yield* Deferred.make<void>()
      const trial = Effect.gen(function*() {
        const started = yield* Deferred.make<void>()
        const fiber = yield* breakers.protect("t", Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(gate))), byExit)
          .pipe(Effect.fork)
        yield* Deferred.await(started)
        return fiber
      })
      const first = yield* trial
      const second = yield* trial
      expect(rejection(yield* succeed(breakers, "t")).retryAfterSeconds).toBe(1)
      expect((yield* snapshotOf(breakers, "t")).halfOpenInFlight).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(yield* breakers.state("t")).toBe("CLOSED")
    }))

  it.effect("an interrupted trial frees its half-open slot and counts as neither success nor failure", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 1, half_open_success_threshold: 1 })
      yield* fail(breakers, "t")
      yield* TestClock.adjust("1 second")
      const started = yield* Deferred.make<void>()
      const fiber = yield* breakers.protect("t", Deferred.succeed(started, undefined).pipe(Effect.zipRight(Effect.never)), byExit)
        .pipe(Effect.fork)
      yield* Deferred.await(started)
      rejection(yield* succeed(breakers, "t"))
      yield* Fiber.interrupt(fiber)
      expect(yield* snapshotOf(breakers, "t")).toMatchObject({
        state: "HALF_OPEN",
        halfOpenInFlight: 0,
        totals: { success: 0, failure: 1, rejected: 1 }
      })
      yield* succeed(breakers, "t")
      expect(yield* breakers.state("t")).toBe("CLOSED")
    }))

  it.effect("applies a hot change of the failure threshold to the next decision", () =>
    Effect.gen(function*() {
      const { breakers, ref } = yield* liveConfig({ failure_threshold: 10 })
      yield* failTimes(breakers, "t", 3)
      expect(yield* breakers.state("t")).toBe("CLOSED")
      yield* SubscriptionRef.set(ref, settings({ failure_threshold: 4 }))
      yield* fail(breakers, "t")
      expect(yield* breakers.state("t")).toBe("OPEN")
    }))

  it.effect("per-call settings override the configuration", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 10 })
      const own = { settings: { failure_threshold: 2, recovery_timeout: 5 }, ...byExit }
      yield* Effect.repeatN(breakers.protect("own", Effect.fail("x"), own).pipe(Effect.either), 1)
      const result = yield* breakers.protect("own", Effect.succeed(1), own).pipe(Effect.either)
      expect(rejection(result).retryAfterSeconds).toBe(5)
    }))

  it.effect("the caller's predicate decides what a failure is", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 2 })
      // e.g. a process result with a bad exit code is a success value that counts as a failure,
      // while a rejected argument is an error that does not.
      const isFailure = (exit: Exit.Exit<number, string>) => Exit.match(exit, { onSuccess: (code) => code !== 0, onFailure: () => false })
      yield* Effect.repeatN(breakers.protect("t", Effect.fail("ArgumentRejected"), { isFailure }).pipe(Effect.either), 4)
      expect(yield* breakers.state("t")).toBe("CLOSED")
      yield* Effect.repeatN(breakers.protect("t", Effect.succeed(2), { isFailure }), 1)
      expect(yield* breakers.state("t")).toBe("OPEN")
    }))

  it.effect("results of calls admitted before a transition do not move the new state", () =>
    Effect.gen(function*() {
      const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 10 })
      const gate = yield* Deferred.make<void>()
      const started = yield* Deferred.make<void>()
      const slow = yield* breakers.protect("t", Deferred.succeed(started, undefined).pipe(Effect.zipRight(Deferred.await(gate))), byExit)
        .pipe(Effect.fork)
      yield* Deferred.await(started)
      yield* fail(breakers, "t")
      yield* TestClock.adjust("10 seconds")
      expect(yield* breakers.state("t")).toBe("HALF_OPEN")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(slow)
      expect(yield* snapshotOf(breakers, "t")).toMatchObject({ state: "HALF_OPEN", totals: { success: 1, failure: 1 } })
    }))

  it.scoped("records metrics and publishes transitions", () =>
    Effect.gen(function*() {
      const events = yield* Events
      const inbox = yield* events.subscribe
      const breakers = yield* CircuitBreakers.make.pipe(
        Effect.provide(ConfigService.layerWith({ circuit_breaker: { failure_threshold: 2, recovery_timeout: 5 } })),
        Effect.provideService(Events, events)
      )
      const tool = "metrics_probe"
      const calls = (result: string) => Metric.value(Metric.tagged(Metric.tagged(breakerCalls, "name", tool), "result", result))
      const transitions = (from: string, to: string) =>
        Metric.value(Metric.tagged(Metric.tagged(Metric.tagged(breakerTransitions, "name", tool), "from_state", from), "to_state", to))
      const gauge = Metric.value(Metric.tagged(breakerState, "name", tool))

      yield* succeed(breakers, tool)
      expect((yield* gauge).value).toBe(0)
      yield* failTimes(breakers, tool, 2)
      yield* succeed(breakers, tool)
      expect((yield* gauge).value).toBe(1)
      yield* TestClock.adjust("5 seconds")
      expect(yield* breakers.state(tool)).toBe("HALF_OPEN")
      expect((yield* gauge).value).toBe(2)
      yield* succeed(breakers, tool)
      expect((yield* gauge).value).toBe(0)

      expect((yield* calls("success")).count).toBe(2)
      expect((yield* calls("failure")).count).toBe(2)
      expect((yield* calls("rejected")).count).toBe(1)
      expect((yield* transitions("CLOSED", "OPEN")).count).toBe(1)
      expect((yield* transitions("OPEN", "HALF_OPEN")).count).toBe(1)
      expect((yield* transitions("HALF_OPEN", "CLOSED")).count).toBe(1)

      const published = yield* Queue.takeAll(inbox)
      expect([...published].map((e) => e.type === "breaker.transition" ? `${e.tool}:${e.from}->${e.to}` : e.type)).toEqual([
        `${tool}:CLOSED->OPEN`,
        `${tool}:OPEN->HALF_OPEN`,
        `${tool}:HALF_OPEN->CLOSED`
      ])
    }).pipe(Effect.provide(Events.layer)))
})

/** A clock whose wall time the test steps at will while monotonic time only moves forward. */
const steppedClock = Effect.gen(function*() {
  const monotonic = yield* Ref.make(1_000_000)
  const wallOffset = yield* Ref.make(1_700_000_000_000 - 1_000_000)
  const clock: Clock.Clock = {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => Effect.runSync(Ref.get(monotonic)) + Effect.runSync(Ref.get(wallOffset)),
    unsafeCurrentTimeNanos: () => BigInt(Effect.runSync(Ref.get(monotonic))) * 1_000_000n,
    currentTimeMillis: Effect.zipWith(Ref.get(monotonic), Ref.get(wallOffset), (m, o) => m + o),
    currentTimeNanos: Effect.map(Ref.get(monotonic), (m) => BigInt(m) * 1_000_000n),
    sleep: () => Effect.void
  }
  return {
    clock,
    elapse: (ms: number) => Ref.update(monotonic, (m) => m + ms),
    stepWall: (ms: number) => Ref.update(wallOffset, (o) => o + ms)
  }
})

describe("item 10: breaker abuse", () => {
  it.effect("a backward wall-clock step does not hold an open circuit open", () =>
    Effect.gen(function*() {
      const { clock, elapse, stepWall } = yield* steppedClock
      yield* Effect.gen(function*() {
        const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 60 })
        yield* fail(breakers, "t")
        expect(yield* breakers.state("t")).toBe("OPEN")
        yield* stepWall(-3_600_000)
        yield* elapse(61_000)
        expect(yield* breakers.state("t")).toBe("HALF_OPEN")
        expect(Either.isRight(yield* succeed(breakers, "t"))).toBe(true)
        expect(yield* breakers.state("t")).toBe("CLOSED")
      }).pipe(Effect.withClock(clock))
    }))

  it.effect("a forward wall-clock step does not close it early, and snapshots show wall-clock dates", () =>
    Effect.gen(function*() {
      const { clock, elapse, stepWall } = yield* steppedClock
      yield* Effect.gen(function*() {
        const breakers = yield* makeBreakers({ failure_threshold: 1, recovery_timeout: 60 })
        yield* fail(breakers, "t")
        const opened = yield* snapshotOf(breakers, "t")
        expect(opened.openedAt).toBe(new Date(1_700_000_000_000).toISOString())
        expect(opened.retryAt).toBe(new Date(1_700_000_060_000).toISOString())
        yield* stepWall(3_600_000)
        yield* elapse(1_000)
        expect(yield* breakers.state("t")).toBe("OPEN")
        expect(rejection(yield* succeed(breakers, "t")).retryAfterSeconds).toBe(59)
      }).pipe(Effect.withClock(clock))
    }))

  it("a timeout counts against the breaker only when the tool had its configured time", () => {
    expect(timeoutCountsAgainstBreaker(300, 300)).toBe(true)
    expect(timeoutCountsAgainstBreaker(600, 300)).toBe(true)
    expect(timeoutCountsAgainstBreaker(1, 300)).toBe(false)
    const limits = { configuredSeconds: 300, floorSeconds: 10, capSeconds: 600 }
    expect(effectiveTimeout(undefined, limits)).toEqual({ seconds: 300, raised: false, countsAgainstBreaker: true })
    expect(effectiveTimeout(1, limits)).toEqual({ seconds: 10, raised: true, countsAgainstBreaker: false })
    expect(effectiveTimeout(120, limits)).toEqual({ seconds: 120, raised: false, countsAgainstBreaker: false })
    expect(effectiveTimeout(5000, limits)).toEqual({ seconds: 600, raised: false, countsAgainstBreaker: true })
    // A floor above the tool's own timeout is the tool's timeout.
    expect(effectiveTimeout(1, { ...limits, floorSeconds: 1000 })).toEqual({ seconds: 300, raised: true, countsAgainstBreaker: true })
  })

  it.prop("the effective timeout lies between the floor and the cap, and only a full one counts", [
    fc.option(fc.double({ min: 0, max: 100_000, noNaN: true }), { nil: undefined }),
    fc.double({ min: 1, max: 86_400, noNaN: true }),
    fc.double({ min: 1, max: 86_400, noNaN: true }),
    fc.double({ min: 1, max: 86_400, noNaN: true })
  ], ([requested, configured, floor, cap]) => {
    const configuredSeconds = Math.min(configured, cap)
    const decision = effectiveTimeout(requested, { configuredSeconds, floorSeconds: floor, capSeconds: cap })
    expect(decision.seconds).toBeLessThanOrEqual(cap)
    expect(decision.seconds).toBeGreaterThanOrEqual(Math.min(floor, configuredSeconds))
    expect(decision.countsAgainstBreaker).toBe(decision.seconds >= configuredSeconds)
    if (requested !== undefined && requested < configuredSeconds && requested >= floor) expect(decision.countsAgainstBreaker).toBe(false)
  })

  it("the floor is per tool, falling back to tool.min_timeout, and never read from the prototype", () => {
    const config = Schema.decodeUnknownSync(AppConfig)(
      mergeDeep(defaults, { tool: { min_timeout: 5 }, tools: { NmapTool: { min_timeout: 30 } } })
    )
    expect(timeoutFloor(config, "NmapTool")).toBe(30)
    expect(timeoutFloor(config, "PingTool")).toBe(5)
    for (const name of ["constructor", "__proto__", "toString"]) expect(timeoutFloor(config, name)).toBe(5)
  })
})
