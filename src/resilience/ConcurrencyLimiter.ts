import { Context, Deferred, Effect, HashMap, Layer, Option, Ref, Stream } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { ToolBusy } from "../errors.js"

/** A tool's limit: a number, or how to read it from the live configuration. */
export type Limit = number | Effect.Effect<number>

interface Slots {
  readonly active: number
  /** The most recent limit a caller passed; releases hand permits on while `active` is below it. */
  readonly limit: number
  /** How the most recent caller reads the limit, so a configuration change can re-read it. */
  readonly limitOf: Effect.Effect<number> | undefined
  /** Callers waiting for a permit, oldest first. */
  readonly waiters: ReadonlyArray<Deferred.Deferred<void>>
}

const emptySlots: Slots = { active: 0, limit: 1, limitOf: undefined, waiters: [] }

/** Grants permits to the oldest waiters while the limit allows; they must be woken after the state is stored. */
const drain = (slots: Slots): readonly [ReadonlyArray<Deferred.Deferred<void>>, Slots] => {
  const granted = Math.max(0, Math.min(slots.waiters.length, slots.limit - slots.active))
  return [
    slots.waiters.slice(0, granted),
    { ...slots, active: slots.active + granted, waiters: slots.waiters.slice(granted) }
  ]
}

type Decision = "run" | "wait" | "busy"

/**
 * Per-tool execution slots: at most `limit` calls run at once and at most
 * `queueSize` wait, first come first served; the rest fail with `ToolBusy` at once.
 * A changed limit applies at once: lowering it lets running calls finish and
 * admits no one until `active` is below it; raising it admits waiting callers
 * straight away — at the next acquisition, at `setLimit`, or, for limits given
 * as an Effect, when the configuration changes (hot reload), since the layer
 * re-reads them then.
 */
export class ConcurrencyLimiter extends Context.Tag("security-mcp/ConcurrencyLimiter")<
  ConcurrencyLimiter,
  {
    readonly withPermit: (
      tool: string,
      limit: Limit,
      queueSize: number
    ) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ToolBusy, R>
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
    const update = <A>(tool: string, f: (slots: Slots) => readonly [A, ReadonlyArray<Deferred.Deferred<void>>, Slots]) =>
      Ref.modify(tools, (map) => {
        const [a, wake, next] = f(Option.getOrElse(HashMap.get(map, tool), () => emptySlots))
        const stored = next.active === 0 && next.waiters.length === 0 ? HashMap.remove(map, tool) : HashMap.set(map, tool, next)
        return [[a, wake] as const, stored]
      }).pipe(
        Effect.tap(([, wake]) => Effect.forEach(wake, (d) => Deferred.succeed(d, undefined), { discard: true })),
        Effect.map(([a]) => a)
      )

    const release = (tool: string) =>
      update(tool, (slots) => {
        const [wake, next] = drain({ ...slots, active: slots.active - 1 })
        return [undefined, wake, next]
      })

    /** A waiter that is interrupted either leaves the queue or, if a permit reached it meanwhile, passes the permit on. */
    const abandon = (tool: string, waiter: Deferred.Deferred<void>) =>
      update(tool, (slots) => {
        if (slots.waiters.includes(waiter)) {
          return [undefined, [], { ...slots, waiters: slots.waiters.filter((w) => w !== waiter) }]
        }
        const [wake, next] = drain({ ...slots, active: slots.active - 1 })
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

    const withPermit = (tool: string, limitOrEffect: Limit, queueSize: number) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const limitOf = typeof limitOrEffect === "number" ? undefined : limitOrEffect
          const limit = limitOf === undefined ? limitOrEffect as number : yield* limitOf
          const waiter = yield* Deferred.make<void>()
          const decision = yield* update(tool, (slots): readonly [Decision, ReadonlyArray<Deferred.Deferred<void>>, Slots] => {
            const [wake, drained] = drain({ ...slots, limit, limitOf })
            if (drained.active < limit) return ["run", wake, { ...drained, active: drained.active + 1 }]
            if (drained.waiters.length < queueSize) return ["wait", wake, { ...drained, waiters: [...drained.waiters, waiter] }]
            return ["busy", wake, drained]
          })
          if (decision === "busy") {
            return yield* new ToolBusy({
              tool,
              message: `${tool} is busy: ${limit} running and ${queueSize} waiting; retry later`
            })
          }
          if (decision === "wait") {
            yield* restore(Deferred.await(waiter)).pipe(Effect.onInterrupt(() => abandon(tool, waiter)))
          }
          return yield* restore(effect).pipe(Effect.ensuring(release(tool)))
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
