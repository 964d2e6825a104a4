import { Deferred, Effect } from "effect"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import { Database } from "../storage/Database.js"
import { OperatorState, type SwitchChange, type ToolSwitch } from "../storage/OperatorState.js"
import { ToolRegistry } from "../tools/ToolRegistry.js"

/**
 * Operator switches that outlive a restart: a tool switched off (or on
 * against the configuration) and a breaker held open are written to the
 * store when an operator sets them, and applied again when the server
 * starts. A store that cannot be written does not stop the switch: it holds
 * until the next restart, and the failure is logged.
 */
export interface Switches {
  readonly record: (tool: string, change: SwitchChange, by: string) => Effect.Effect<void>
  /** Done once the stored switches are applied, or the store's first opening attempt failed (they follow when it opens). */
  readonly restored: Effect.Effect<void>
  /** Whether `restored` is done already (it would not wait), read without an effect. */
  readonly settledNow: () => boolean
}

const restore = (registry: ToolRegistry["Type"], breakers: CircuitBreakers["Type"], switches: ReadonlyArray<ToolSwitch>) =>
  Effect.forEach(switches, (s) =>
    Effect.gen(function*() {
      yield* registry.get(s.tool)
      if (s.enabled !== null) yield* registry.setEnabled(s.tool, s.enabled)
      if (s.circuit === "open") yield* breakers.forceOpen(s.tool)
      yield* Effect.logInfo(
        `operator switch of ${s.tool} restored: ${s.enabled === null ? "" : s.enabled ? "enabled " : "disabled "}${
          s.circuit === "open" ? "circuit held open " : ""
        }(set by ${s.updated_by} at ${s.updated_at})`
      )
    }).pipe(Effect.catchTag("ToolNotFound", () => Effect.logWarning(`operator switch of unknown tool ${s.tool} ignored`))), {
    discard: true
  })

/**
 * Applies the stored switches as soon as the store's first opening attempt
 * ends, else once it opens; the executor's calls and lists wait for
 * `restored`, so none comes before the switches when the store opened.
 * Start-up itself does not wait: the store opens beside it (see Startup),
 * and a stdio client's initialize is answered meanwhile.
 */
export const makeSwitches = Effect.gen(function*() {
  const state = yield* OperatorState
  const db = yield* Database
  const registry = yield* ToolRegistry
  const breakers = yield* CircuitBreakers
  const apply = Effect.flatMap(state.list, (all) => restore(registry, breakers, all))
  const restored = yield* Deferred.make<void>()
  /** Set once `restored` is done, in the same step. */
  let settled = false
  const later = db.ready.pipe(
    Effect.zipRight(apply),
    Effect.catchAll((error) => Effect.logError(`operator switches could not be restored: ${error.message}`))
  )
  yield* Effect.forkScoped(
    Effect.either(apply).pipe(
      Effect.ensuring(Effect.zipRight(
        Deferred.succeed(restored, undefined),
        Effect.sync(() => {
          settled = true
        })
      )),
      Effect.flatMap((first) => (first._tag === "Left" ? later : Effect.void))
    )
  )
  return {
    restored: Deferred.await(restored),
    settledNow: () => settled,
    record: (tool, change, by) =>
      state.set(tool, change, by).pipe(
        Effect.catchAll((error) =>
          Effect.logError(`operator switch of ${tool} holds until the next restart only: it could not be stored (${error.message})`)
        )
      )
  } satisfies Switches
})
