import { Context, Deferred, Effect, HashMap, Layer, Option, Ref, Stream } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { ToolBusy } from "../errors.js"

/** A tool's limit: a number, or how to read it from the live configuration. */
export type Limit = number | Effect.Effect<number>

/** Who asks, and how much of the tool one caller may hold. */
export interface Fairness<E = never> {
  /** The caller's id; calls without one share the empty id. */
  readonly client?: string
  /**
   * The part of the running slots (at least one) and of the queue (at least
   * one, when there is a queue) one client may hold; 1 (the default) lets a
   * client take the whole tool.
   */
  readonly share?: number
  /**
   * While the call waits in the queue: when this fails, the call leaves the
   * queue and fails with its error instead of starting (a server that
   * begins shutting down turns away the calls that wait).
   */
  readonly abort?: Effect.Effect<never, E>
}

interface Waiter {
  readonly client: string
  readonly ready: Deferred.Deferred<void>
}

interface Slots {
  readonly active: number
  /** Running calls per client. */
  readonly running: HashMap.HashMap<string, number>
  /** The most recent limit a caller passed; releases hand permits on while `active` is below it. */
  readonly limit: number
  /** The most recent share a caller passed, applied to running slots when permits are handed on. */
  readonly share: number
  /** How the most recent caller reads the limit, so a configuration change can re-read it. */
  readonly limitOf: Effect.Effect<number> | undefined
  /** Callers waiting for a permit, oldest first. */
  readonly waiters: ReadonlyArray<Waiter>
}

const emptySlots: Slots = { active: 0, running: HashMap.empty(), limit: 1, share: 1, limitOf: undefined, waiters: [] }

/** Running slots one client may hold: its share of the limit, at least one. */
export const runningCap = (limit: number, share: number): number => Math.max(1, Math.floor(limit * share))

/** Queue places one client may hold: its share of the queue, at least one when there is a queue. */
export const queuedCap = (queueSize: number, share: number): number => queueSize === 0 ? 0 : Math.max(1, Math.floor(queueSize * share))

const runningOf = (slots: Slots, client: string) => Option.getOrElse(HashMap.get(slots.running, client), () => 0)

const withRunning = (slots: Slots, client: string, delta: number): Slots => {
  const n = runningOf(slots, client) + delta
  return {
    ...slots,
    active: slots.active + delta,
    running: n === 0 ? HashMap.remove(slots.running, client) : HashMap.set(slots.running, client, n)
  }
}

/**
 * Grants permits to waiters, oldest first, while the limit allows, skipping
 * those whose client holds its share of running slots already (a later
 * caller of another client goes first). They must be woken after the state
 * is stored.
 */
const drain = (slots: Slots): readonly [ReadonlyArray<Waiter>, Slots] => {
  const cap = runningCap(slots.limit, slots.share)
  let next = slots
  const granted: Array<Waiter> = []
  const left: Array<Waiter> = []
  for (const waiter of slots.waiters) {
    if (next.active < next.limit && runningOf(next, waiter.client) < cap) {
      granted.push(waiter)
      next = withRunning(next, waiter.client, 1)
    } else {
      left.push(waiter)
    }
  }
  return [granted, granted.length === 0 ? slots : { ...next, waiters: left }]
}

type Decision = "run" | "wait" | "busy" | "client-busy"

const busyMessage = (tool: string, decision: "busy" | "client-busy", limit: number, queueSize: number, client: string) =>
  decision === "busy"
    ? `${tool} is busy: ${limit} running and ${queueSize} waiting; retry later`
    : `${tool} is busy for ${client}: it holds its share of the tool's running slots and queue (tool.client_share), so other clients keep theirs; retry when one of its calls finishes`

/**
 * Per-tool execution slots: at most `limit` calls run at once and at most
 * `queueSize` wait, first come first served; the rest fail with `ToolBusy` at once.
 * Each client holds at most its share of both (`Fairness`): one caller's
 * burst fills its own part of the queue, not everyone's, and a slot that
 * frees goes to the oldest waiter whose client is under its share.
 * A changed limit applies at once: lowering it lets running calls finish and
 * admits no one until `active` is below it; raising it admits waiting callers
 * straight away — at the next acquisition, at `setLimit`, or, for limits given
 * as an Effect, when the configuration changes (hot reload), since the layer
 * re-reads them then.
 */
export class ConcurrencyLimiter extends Context.Tag("security-mcp/ConcurrencyLimiter")<
  ConcurrencyLimiter,
  {
    readonly withPermit: <E2 = never>(
      tool: string,
      limit: Limit,
      queueSize: number,
      fairness?: Fairness<E2>
    ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | E2 | ToolBusy, R>
    /** Applies a new limit to `tool` now, waking waiters a higher one admits. */
    readonly setLimit: (tool: string, limit: number) => Effect.Effect<void>
    /** Re-reads every limit given as an Effect and applies it (called on each configuration change). */
    readonly retune: Effect.Effect<void>
    readonly active: (tool: string) => Effect.Effect<number>
    readonly queued: (tool: string) => Effect.Effect<number>
  }
>() {
  static readonly make = Effect.gen(function*() {
    const tools = yield* Ref.make(HashMap.empty<string, Slots>())

    /** Applies `f` to `tool`'s slots atomically, forgets idle tools, then wakes whoever `f` granted a permit. */
    const update = <A>(tool: string, f: (slots: Slots) => readonly [A, ReadonlyArray<Waiter>, Slots]) =>
      Ref.modify(tools, (map) => {
        const [a, wake, next] = f(Option.getOrElse(HashMap.get(map, tool), () => emptySlots))
        const stored = next.active === 0 && next.waiters.length === 0 ? HashMap.remove(map, tool) : HashMap.set(map, tool, next)
        return [[a, wake] as const, stored]
      }).pipe(
        Effect.tap(([, wake]) => Effect.forEach(wake, (w) => Deferred.succeed(w.ready, undefined), { discard: true })),
        Effect.map(([a]) => a)
      )

    const release = (tool: string, client: string) =>
      update(tool, (slots) => {
        const [wake, next] = drain(withRunning(slots, client, -1))
        return [undefined, wake, next]
      })

    /** A waiter that is interrupted or aborted either leaves the queue or, if a permit reached it meanwhile, passes the permit on. */
    const abandon = (tool: string, waiter: Waiter) =>
      update(tool, (slots) => {
        if (slots.waiters.includes(waiter)) {
          return [undefined, [], { ...slots, waiters: slots.waiters.filter((w) => w !== waiter) }]
        }
        const [wake, next] = drain(withRunning(slots, waiter.client, -1))
        return [undefined, wake, next]
      })

    const setLimit = (tool: string, limit: number) =>
      update(tool, (slots) => {
        const [wake, next] = drain({ ...slots, limit })
        return [undefined, wake, next]
      })

    const retune = Effect.gen(function*() {
      for (const [tool, slots] of yield* Ref.get(tools)) {
        if (slots.limitOf !== undefined && slots.waiters.length > 0) yield* setLimit(tool, yield* slots.limitOf)
      }
    })

    const decide = (slots: Slots, waiter: Waiter, queueSize: number, share: number): readonly [Decision, Slots] => {
      const { client } = waiter
      if (slots.active < slots.limit && runningOf(slots, client) < runningCap(slots.limit, share)) {
        return ["run", withRunning(slots, client, 1)]
      }
      if (slots.waiters.length >= queueSize) return ["busy", slots]
      if (slots.waiters.filter((w) => w.client === client).length >= queuedCap(queueSize, share)) return ["client-busy", slots]
      return ["wait", { ...slots, waiters: [...slots.waiters, waiter] }]
    }

    const withPermit =
      <E2 = never>(tool: string, limitOrEffect: Limit, queueSize: number, fairness: Fairness<E2> = {}) =>
      <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | E2 | ToolBusy, R> =>
        Effect.uninterruptibleMask((restore) =>
          Effect.gen(function*() {
            const limitOf = typeof limitOrEffect === "number" ? undefined : limitOrEffect
            const limit = limitOf === undefined ? limitOrEffect as number : yield* limitOf
            const share = fairness.share ?? 1
            const waiter: Waiter = { client: fairness.client ?? "", ready: yield* Deferred.make<void>() }
            const decision = yield* update(tool, (slots): readonly [Decision, ReadonlyArray<Waiter>, Slots] => {
              const [wake, drained] = drain({ ...slots, limit, limitOf, share })
              const [decision, next] = decide(drained, waiter, queueSize, share)
              return [decision, wake, next]
            })
            if (decision === "busy" || decision === "client-busy") {
              return yield* new ToolBusy({ tool, message: busyMessage(tool, decision, limit, queueSize, waiter.client) })
            }
            if (decision === "wait") {
              const ready = fairness.abort === undefined
                ? Deferred.await(waiter.ready)
                : Effect.raceFirst(Deferred.await(waiter.ready), fairness.abort)
              yield* restore(ready).pipe(Effect.onError(() => abandon(tool, waiter)))
            }
            return yield* restore(effect).pipe(Effect.ensuring(release(tool, waiter.client)))
          })
        )

    const count = (f: (slots: Slots) => number) => (tool: string) =>
      Effect.map(Ref.get(tools), (map) => Option.match(HashMap.get(map, tool), { onNone: () => 0, onSome: f }))

    return ConcurrencyLimiter.of({
      withPermit,
      setLimit,
      retune,
      active: count((s) => s.active),
      queued: count((s) => s.waiters.length)
    })
  })

  /** The limiter, re-reading Effect limits at every configuration change so a raised limit wakes waiting calls. */
  static readonly layer = Layer.scoped(
    ConcurrencyLimiter,
    Effect.gen(function*() {
      const limiter = yield* ConcurrencyLimiter.make
      const config = yield* ConfigService
      yield* Effect.forkScoped(Stream.runForEach(config.changes, () => limiter.retune))
      return limiter
    })
  )
}
