import { Cause, Clock, Context, Effect, Exit, HashMap, Layer, Metric, Option, Random, Ref } from "effect"
import type { BreakerState } from "../BreakerState.js"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { CircuitOpen } from "../errors.js"
import { Events } from "../events/Events.js"
import { monotonicMillis } from "../monotonic.js"
import { breakerCalls, breakerState, breakerTransitions } from "../observability/metrics.js"

export type BreakerSettings = AppConfig["circuit_breaker"]

export interface ProtectOptions<A, E> {
  /** Decides whether a finished call counts against the tool; interruptions never reach it. */
  readonly isFailure: (exit: Exit.Exit<A, E>) => boolean
  /** For tools with their own thresholds; unset fields come from `circuit_breaker` in the config. */
  readonly settings?: Partial<BreakerSettings>
}

export interface BreakerTotals {
  readonly success: number
  readonly failure: number
  readonly rejected: number
}

export interface BreakerSnapshot {
  readonly tool: string
  readonly state: BreakerState
  readonly consecutiveFailures: number
  /** Set by `forceOpen`: the circuit stays open until `forceClose`. */
  readonly forced: boolean
  readonly openedAt: string | null
  readonly retryAt: string | null
  /** The current (backed-off) recovery timeout, while the circuit is not closed. */
  readonly recoveryTimeoutSeconds: number | null
  readonly halfOpenInFlight: number
  readonly totals: BreakerTotals
}

/** The state of one tool's breaker; every change goes through the pure functions below. */
export interface Breaker {
  readonly state: BreakerState
  /** Bumped on every transition so results of calls admitted in an earlier state cannot move the new one. */
  readonly epoch: number
  readonly consecutiveFailures: number
  readonly halfOpenSuccesses: number
  readonly halfOpenInFlight: number
  /** Opens since the circuit was last closed; drives the exponential backoff. */
  readonly reopens: number
  readonly forced: boolean
  readonly openedAt: number | null
  readonly retryAt: number | null
  readonly recoveryTimeoutSeconds: number | null
  readonly totals: BreakerTotals
}

export interface Transition {
  readonly from: BreakerState
  readonly to: BreakerState
}

export type Admission =
  | { readonly _tag: "Allowed"; readonly epoch: number; readonly trial: boolean }
  | { readonly _tag: "Rejected"; readonly retryAfterSeconds: number }

export type Outcome = "success" | "failure" | "interrupted"

type Step<A> = readonly [A, Breaker, ReadonlyArray<Transition>]

export const initialBreaker: Breaker = {
  state: "CLOSED",
  epoch: 0,
  consecutiveFailures: 0,
  halfOpenSuccesses: 0,
  halfOpenInFlight: 0,
  reopens: 0,
  forced: false,
  openedAt: null,
  retryAt: null,
  recoveryTimeoutSeconds: null,
  totals: { success: 0, failure: 0, rejected: 0 }
}

/** Relative spread of the jitter applied to backed-off recovery timeouts. */
const JITTER = 0.2

/**
 * Seconds the circuit stays open on its `reopens`-th consecutive opening:
 * `recovery_timeout · 2^reopens` (the delays of `Schedule.exponential(recovery_timeout, 2)`),
 * jittered by ±20 % with `random` in [0, 1), capped by `max_recovery_timeout`. The first
 * opening is not jittered, so an operator's configured recovery timeout is what they observe;
 * jitter matters for the repeated re-opens, where several servers would otherwise retry in step.
 */
export const recoveryTimeout = (settings: BreakerSettings, reopens: number, random: number): number => {
  const base = settings.recovery_timeout * 2 ** reopens
  const jittered = reopens === 0 ? base : base * (1 - JITTER + 2 * JITTER * random)
  return Math.min(settings.max_recovery_timeout, jittered)
}

const transition = (b: Breaker, to: BreakerState, fields: Partial<Breaker>): Step<void> => [
  undefined,
  { ...b, ...fields, state: to, epoch: b.epoch + 1, halfOpenInFlight: 0, halfOpenSuccesses: 0 },
  [{ from: b.state, to }]
]

const open = (b: Breaker, now: number, settings: BreakerSettings, random: number): Step<void> => {
  const seconds = recoveryTimeout(settings, b.reopens, random)
  return transition(b, "OPEN", {
    reopens: b.reopens + 1,
    forced: false,
    openedAt: now,
    retryAt: now + seconds * 1000,
    recoveryTimeoutSeconds: seconds
  })
}

/** Moves an open circuit whose recovery timeout has elapsed to half-open. */
export const advance = (b: Breaker, now: number): Step<void> =>
  b.state === "OPEN" && !b.forced && b.retryAt !== null && now >= b.retryAt
    ? transition(b, "HALF_OPEN", { retryAt: null })
    : [undefined, b, []]

const secondsUntil = (at: number, now: number) => Math.max(0, Math.ceil(at - now)) / 1000

export const admit = (b0: Breaker, now: number, settings: BreakerSettings): Step<Admission> => {
  const [, b, transitions] = advance(b0, now)
  const reject = (retryAfterSeconds: number): Step<Admission> => [
    { _tag: "Rejected", retryAfterSeconds },
    { ...b, totals: { ...b.totals, rejected: b.totals.rejected + 1 } },
    transitions
  ]
  switch (b.state) {
    case "CLOSED":
      return [{ _tag: "Allowed", epoch: b.epoch, trial: false }, b, transitions]
    case "OPEN":
      return reject(b.retryAt === null ? settings.recovery_timeout : secondsUntil(b.retryAt, now))
    case "HALF_OPEN":
      // A busy half-open circuit frees a slot as soon as one trial ends; a second is a fair hint.
      return b.halfOpenInFlight < settings.half_open_success_threshold
        ? [{ _tag: "Allowed", epoch: b.epoch, trial: true }, { ...b, halfOpenInFlight: b.halfOpenInFlight + 1 }, transitions]
        : reject(1)
  }
}

export const record = (
  b: Breaker,
  admission: { readonly epoch: number; readonly trial: boolean },
  outcome: Outcome,
  now: number,
  settings: BreakerSettings,
  random: number
): Step<void> => {
  const totals = outcome === "interrupted" ? b.totals : { ...b.totals, [outcome]: b.totals[outcome] + 1 }
  const current = admission.epoch === b.epoch
  const counted: Breaker = {
    ...b,
    totals,
    halfOpenInFlight: current && admission.trial ? b.halfOpenInFlight - 1 : b.halfOpenInFlight
  }
  if (!current || outcome === "interrupted") return [undefined, counted, []]
  switch (b.state) {
    case "CLOSED": {
      if (outcome === "success") return [undefined, { ...counted, consecutiveFailures: 0 }, []]
      const failures = b.consecutiveFailures + 1
      return failures >= settings.failure_threshold
        ? open({ ...counted, consecutiveFailures: failures }, now, settings, random)
        : [undefined, { ...counted, consecutiveFailures: failures }, []]
    }
    case "HALF_OPEN": {
      if (outcome === "failure") return open(counted, now, settings, random)
      const successes = b.halfOpenSuccesses + 1
      return successes >= settings.half_open_success_threshold
        ? transition(counted, "CLOSED", closedFields)
        : [undefined, { ...counted, halfOpenSuccesses: successes }, []]
    }
    case "OPEN":
      return [undefined, counted, []]
  }
}

const closedFields: Partial<Breaker> = {
  consecutiveFailures: 0,
  reopens: 0,
  forced: false,
  openedAt: null,
  retryAt: null,
  recoveryTimeoutSeconds: null
}

export const forceOpen = (b: Breaker, now: number): Step<void> =>
  b.state === "OPEN"
    ? [undefined, { ...b, forced: true, retryAt: null }, []]
    : transition(b, "OPEN", { forced: true, openedAt: now, retryAt: null, recoveryTimeoutSeconds: null })

export const forceClose = (b: Breaker): Step<void> =>
  b.state === "CLOSED" ? [undefined, { ...b, ...closedFields }, []] : transition(b, "CLOSED", closedFields)

const stateValue: Record<BreakerState, number> = { CLOSED: 0, OPEN: 1, HALF_OPEN: 2 }

/**
 * Breaker times are monotonic milliseconds (`Clock.currentTimeNanos`), so a
 * wall-clock step can neither hold a circuit open nor close it early; they
 * become wall-clock dates only for display, relative to the current instant.
 */
export interface Instant {
  readonly monotonic: number
  readonly wall: number
}

const iso = (millis: number | null, at: Instant) => (millis === null ? null : new Date(at.wall + millis - at.monotonic).toISOString())

export const toSnapshot = (tool: string, b: Breaker, at: Instant = { monotonic: 0, wall: 0 }): BreakerSnapshot => ({
  tool,
  state: b.state,
  consecutiveFailures: b.consecutiveFailures,
  forced: b.forced,
  openedAt: iso(b.openedAt, at),
  retryAt: iso(b.retryAt, at),
  recoveryTimeoutSeconds: b.recoveryTimeoutSeconds,
  halfOpenInFlight: b.halfOpenInFlight,
  totals: b.totals
})

/** A caller's `timeout_sec` turned into the execution's timeout, and what running out of it means. */
export interface TimeoutDecision {
  readonly seconds: number
  /** The caller asked for less than the tool's floor and got the floor. */
  readonly raised: boolean
  /** Whether a timeout counts against the tool's breaker (see `timeoutCountsAgainstBreaker`). */
  readonly countsAgainstBreaker: boolean
}

export interface TimeoutLimits {
  /** The tool's configured timeout (`tools.<name>.timeout` or its default), already within `security.timeout_seconds`. */
  readonly configuredSeconds: number
  /** The shortest timeout a caller may ask for (`timeoutFloor`). */
  readonly floorSeconds: number
  /** `security.timeout_seconds`. */
  readonly capSeconds: number
}

/**
 * A timeout says the tool is unhealthy only when the tool had the time the
 * operator gave it: a caller who shortens the timeout and then sees it run
 * out learned nothing about the tool, and must not be able to open its
 * breaker for everyone that way.
 */
export const timeoutCountsAgainstBreaker = (effectiveSeconds: number, configuredSeconds: number): boolean =>
  effectiveSeconds >= configuredSeconds

/** The timeout an execution runs with: the caller's (or the configured one), at least the floor, at most the cap. */
export const effectiveTimeout = (requested: number | undefined, limits: TimeoutLimits): TimeoutDecision => {
  const floor = Math.min(limits.floorSeconds, limits.configuredSeconds, limits.capSeconds)
  const wanted = requested ?? limits.configuredSeconds
  const seconds = Math.min(Math.max(wanted, floor), limits.capSeconds)
  return { seconds, raised: wanted < floor, countsAgainstBreaker: timeoutCountsAgainstBreaker(seconds, limits.configuredSeconds) }
}

/** The shortest caller timeout for a tool: `tools.<name>.min_timeout`, else `tool.min_timeout`. */
export const timeoutFloor = (config: AppConfig, tool: string): number =>
  (Object.hasOwn(config.tools, tool) ? config.tools[tool]?.min_timeout : undefined) ?? config.tool.min_timeout

const currentInstant: Effect.Effect<Instant> = Effect.zipWith(monotonicMillis, Clock.currentTimeMillis, (monotonic, wall) => ({
  monotonic,
  wall
}))

/** Reports a breaker's new state: the state gauge, and per transition a counter, an event and a log line. */
const announcer = (events: Events["Type"]) => (tool: string, b: Breaker, transitions: ReadonlyArray<Transition>) =>
  Effect.gen(function*() {
    yield* Metric.set(Metric.tagged(breakerState, "name", tool), stateValue[b.state])
    const at = yield* currentInstant
    for (const { from, to } of transitions) {
      yield* Metric.increment(
        Metric.tagged(Metric.tagged(Metric.tagged(breakerTransitions, "name", tool), "from_state", from), "to_state", to)
      )
      yield* events.publish({ type: "breaker.transition", tool, from, to })
      const message = `circuit breaker ${from} -> ${to}`
      const log = to === "OPEN"
        ? Effect.logWarning(message, { retryAt: iso(b.retryAt, at), consecutiveFailures: b.consecutiveFailures, forced: b.forced })
        : Effect.logInfo(message)
      yield* Effect.annotateLogs(log, { tool })
    }
  })

/**
 * One circuit breaker per tool name, created on first use. Thresholds are read
 * from the configuration at every decision, so a reload applies to the next call.
 */
export class CircuitBreakers extends Context.Tag("security-mcp/CircuitBreakers")<
  CircuitBreakers,
  {
    /** Runs `effect` through `tool`'s breaker: fails with `CircuitOpen` without running it while the circuit is open. */
    readonly protect: <A, E, R>(
      tool: string,
      effect: Effect.Effect<A, E, R>,
      options: ProtectOptions<A, E>
    ) => Effect.Effect<A, E | CircuitOpen, R>
    readonly state: (tool: string) => Effect.Effect<BreakerState>
    /** Opens the circuit until `forceClose`, whatever the calls do. */
    readonly forceOpen: (tool: string) => Effect.Effect<void>
    /** Closes the circuit and forgets failures and backoff. */
    readonly forceClose: (tool: string) => Effect.Effect<void>
    readonly snapshot: Effect.Effect<ReadonlyArray<BreakerSnapshot>>
  }
>() {
  static readonly make = Effect.gen(function*() {
    const config = yield* ConfigService
    const events = yield* Events
    const announce = announcer(events)
    const breakers = yield* Ref.make(HashMap.empty<string, Breaker>())

    const settingsFor = (override: Partial<BreakerSettings> | undefined) =>
      Effect.map(config.get, (c) => (override === undefined ? c.circuit_breaker : { ...c.circuit_breaker, ...override }))

    /** Applies a pure step to `tool`'s breaker atomically, then reports what changed. */
    const step = <A>(tool: string, f: (b: Breaker) => Step<A>) =>
      Ref.modify(breakers, (map): readonly [readonly [A, Breaker, ReadonlyArray<Transition>], HashMap.HashMap<string, Breaker>] => {
        const [a, next, transitions] = f(Option.getOrElse(HashMap.get(map, tool), () => initialBreaker))
        return [[a, next, transitions], HashMap.set(map, tool, next)]
      }).pipe(Effect.tap(([, b, transitions]) => announce(tool, b, transitions)), Effect.map(([a]) => a))

    const countCall = (tool: string, result: "success" | "failure" | "rejected") =>
      Metric.increment(Metric.tagged(Metric.tagged(breakerCalls, "name", tool), "result", result))

    const protect = <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>, options: ProtectOptions<A, E>) =>
      Effect.acquireUseRelease(
        Effect.gen(function*() {
          const settings = yield* settingsFor(options.settings)
          const now = yield* monotonicMillis
          const admission = yield* step(tool, (b) => admit(b, now, settings))
          if (admission._tag === "Allowed") return admission
          yield* countCall(tool, "rejected")
          return yield* new CircuitOpen({
            tool,
            retryAfterSeconds: admission.retryAfterSeconds,
            message: `The circuit breaker of ${tool} is open after repeated failures; retry in ${admission.retryAfterSeconds} s`
          })
        }),
        () => effect,
        (admission, exit) =>
          Effect.gen(function*() {
            const outcome: Outcome = Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
              ? "interrupted"
              : options.isFailure(exit)
              ? "failure"
              : "success"
            const settings = yield* settingsFor(options.settings)
            const now = yield* monotonicMillis
            const random = outcome === "failure" ? yield* Random.next : 0
            yield* step(tool, (b) => record(b, admission, outcome, now, settings, random))
            if (outcome !== "interrupted") yield* countCall(tool, outcome)
          })
      )

    const withNow = (f: (now: number) => (b: Breaker) => Step<void>) => (tool: string) =>
      Effect.flatMap(monotonicMillis, (now) => step(tool, f(now)))

    const state = (tool: string) =>
      Effect.flatMap(monotonicMillis, (now) =>
        step(tool, (b) => {
          const [, next, transitions] = advance(b, now)
          return [next.state, next, transitions] as const
        }))

    const snapshot = Effect.gen(function*() {
      const at = yield* currentInstant
      const now = at.monotonic
      const tools = HashMap.keys(yield* Ref.get(breakers))
      const out: Array<BreakerSnapshot> = []
      for (const tool of tools) {
        out.push(
          yield* step(tool, (b) => {
            const [, next, transitions] = advance(b, now)
            return [toSnapshot(tool, next, at), next, transitions] as const
          })
        )
      }
      return out.sort((a, b) => (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : 0))
    })

    return CircuitBreakers.of({
      protect,
      state,
      forceOpen: withNow((now) => (b) => forceOpen(b, now)),
      forceClose: withNow(() => forceClose),
      snapshot
    })
  })

  static readonly layer = Layer.effect(CircuitBreakers, CircuitBreakers.make)
}
