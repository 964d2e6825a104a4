import { Deferred, Duration, Effect } from "effect"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import { Database } from "../storage/Database.js"
import { OperatorState, type SwitchChange, type ToolSwitch } from "../storage/OperatorState.js"
import { ToolRegistry } from "../tools/ToolRegistry.js"

/**
 * Operator switches that outlive a restart: a tool switched off (or on
 * against the configuration) and a breaker held open are written to the
 * store when an operator sets them, and applied again when the server
 * starts. Instances sharing PostgreSQL apply the switches set through one
 * another within `SWITCH_POLL`. A store that cannot be written does not
 * stop the switch: it holds on this instance until its next restart, and
 * the failure is logged.
 */
export interface Switches {
  /**
   * Makes an operator's change here (`local`: the registry's or the breaker's) and records it, one change at a time
   * with the switches applied from the store; `local`'s failure records nothing.
   */
  readonly change: <A, E>(tool: string, change: SwitchChange, by: string, local: Effect.Effect<A, E>) => Effect.Effect<A, E>
  /** Done once the stored switches are applied, or the store's first opening attempt failed (they follow when it opens). */
  readonly restored: Effect.Effect<void>
  /** Whether `restored` is done already (it would not wait), read without an effect. */
  readonly settledNow: () => boolean
}

/** How often an instance sharing PostgreSQL re-reads the switches, for those set through another instance. */
export const SWITCH_POLL = Duration.seconds(2)

type Applied = ReadonlyMap<string, Pick<ToolSwitch, "enabled" | "circuit">>

export interface SwitchStep {
  readonly tool: string
  readonly enabled: boolean | undefined
  readonly circuit: "open" | "closed" | undefined
}

/**
 * What changed between the switches applied and those stored now. An
 * `enabled` that went back to null keeps the tool as it is (no route sets
 * that); a hold-open that is gone closes the breaker.
 */
export const switchSteps = (applied: Applied, stored: ReadonlyArray<ToolSwitch>): ReadonlyArray<SwitchStep> => {
  const now = new Map(stored.map((s) => [s.tool, s]))
  const steps: Array<SwitchStep> = []
  for (const tool of new Set([...applied.keys(), ...now.keys()])) {
    const before = applied.get(tool)
    const after = now.get(tool)
    const enabled = after?.enabled ?? null
    const circuit = after?.circuit ?? null
    const step: SwitchStep = {
      tool,
      enabled: enabled !== null && enabled !== (before?.enabled ?? null) ? enabled : undefined,
      circuit: circuit === (before?.circuit ?? null) ? undefined : circuit === "open" ? "open" : "closed"
    }
    if (step.enabled !== undefined || step.circuit !== undefined) steps.push(step)
  }
  return steps
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

const stepText = (step: SwitchStep) =>
  [
    step.enabled === undefined ? undefined : step.enabled ? "enabled" : "disabled",
    step.circuit === undefined ? undefined : step.circuit === "open" ? "circuit held open" : "circuit closed"
  ].filter((part) => part !== undefined).join(", ")

/** Applies switches set through another instance. */
const follow = (registry: ToolRegistry["Type"], breakers: CircuitBreakers["Type"], steps: ReadonlyArray<SwitchStep>) =>
  Effect.forEach(steps, (step) =>
    Effect.gen(function*() {
      if (step.enabled !== undefined) yield* registry.setEnabled(step.tool, step.enabled)
      if (step.circuit === "open") yield* breakers.forceOpen(step.tool)
      if (step.circuit === "closed") yield* breakers.forceClose(step.tool)
      yield* Effect.logWarning(`operator switch of ${step.tool} set through another instance: ${stepText(step)}`)
    }).pipe(Effect.catchTag("ToolNotFound", () => Effect.void)), { discard: true })

const appliedOf = (all: ReadonlyArray<ToolSwitch>): Map<string, Pick<ToolSwitch, "enabled" | "circuit">> =>
  new Map(all.map((s) => [s.tool, { enabled: s.enabled, circuit: s.circuit }]))

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
  // What this instance applied of the stored switches, its own changes included; reads and writes of it take turns.
  let applied = new Map<string, Pick<ToolSwitch, "enabled" | "circuit">>()
  const turns = yield* Effect.makeSemaphore(1)
  const apply = Effect.flatMap(state.list, (all) => {
    applied = appliedOf(all)
    return restore(registry, breakers, all)
  }).pipe(turns.withPermits(1))
  const poll = Effect.flatMap(state.list, (all) => {
    const steps = switchSteps(applied, all)
    applied = appliedOf(all)
    return follow(registry, breakers, steps)
  }).pipe(turns.withPermits(1), Effect.ignore)
  // SQLite is one process's: no other instance sets its switches. The poll starts once they were read at all.
  const following = db.info.backend === "postgres" ? Effect.forever(Effect.zipRight(Effect.sleep(SWITCH_POLL), poll)) : Effect.void
  const restored = yield* Deferred.make<void>()
  /** Set once `restored` is done, in the same step. */
  let settled = false
  const later = db.ready.pipe(
    Effect.zipRight(apply),
    Effect.zipRight(following),
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
      Effect.flatMap((first) => (first._tag === "Left" ? later : following))
    )
  )
  const remember = (tool: string, change: SwitchChange) =>
    Effect.sync(() => {
      const next = { enabled: null, circuit: null, ...applied.get(tool), ...change }
      if (next.enabled === null && next.circuit === null) applied.delete(tool)
      else applied.set(tool, next)
    })
  const record = (tool: string, change: SwitchChange, by: string) =>
    state.set(tool, change, by).pipe(
      Effect.zipRight(remember(tool, change)),
      Effect.catchAll((error) =>
        Effect.logError(
          `operator switch of ${tool} holds on this instance until its next restart only: it could not be stored (${error.message})`
        )
      )
    )
  return {
    restored: Deferred.await(restored),
    settledNow: () => settled,
    change: (tool, change, by, local) => Effect.tap(local, () => record(tool, change, by)).pipe(turns.withPermits(1))
  } satisfies Switches
})
