import { Duration, Effect } from "effect"
import { performance } from "node:perf_hooks"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

/**
 * Start-up (evaluating the bundle, migrations, the version probes, the first
 * health round) leaves its garbage behind and V8's young generation grown to
 * its maximum (2 × 16 MB): an idle server right after start-up holds ~120 MB
 * where ~80 MB are live. V8's memory reducer gives that back only once a full
 * GC has armed it and 8 s of low allocation have followed; whether start-up
 * happens to end with such a GC depends on timing, so on a busy machine the
 * memory stays with an idle server for minutes.
 *
 * Once start-up is over and the event loop has been idle for a while, one full
 * GC of the kind the memory reducer runs (compacting, shrinking the young
 * generation, flushing bytecode nothing runs) gives it back at once. It costs
 * tens of milliseconds of one idle moment; a busy server is left to V8.
 */

/** The GC runs after this, at the end of the first idle window. */
const FIRST_AFTER = Duration.seconds(4)
/** The event loop was idle when it was busy less than this share of a window. */
const IDLE_UTILIZATION = 0.05
/**
 * V8 shrinks the young generation at a GC only when little was allocated in
 * the seconds before (its allocation throughput looks back about 5 s).
 */
const WINDOW = Duration.seconds(6)
const RETRY_AFTER = Duration.seconds(5)
const ATTEMPTS = 10

/**
 * A full GC that reduces the heap's footprint, through V8's own `gc`
 * (which a new context exposes while --expose-gc is set) with
 * --optimize-for-size for that one collection. False when this V8 offers
 * neither.
 */
export const reduceFootprint = (): boolean => {
  try {
    setFlagsFromString("--expose-gc")
    const gc: unknown = runInNewContext("gc")
    setFlagsFromString("--no-expose-gc")
    if (typeof gc !== "function") return false
    setFlagsFromString("--optimize-for-size")
    try {
      gc()
    } finally {
      setFlagsFromString("--no-optimize-for-size")
    }
    return true
  } catch {
    return false
  }
}

/** Share of `window` the event loop spent running callbacks rather than waiting. */
export const loopUtilization = (window: Duration.Duration): Effect.Effect<number> =>
  Effect.suspend(() => {
    const start = performance.eventLoopUtilization()
    return Effect.map(Effect.sleep(window), () => performance.eventLoopUtilization(start).utilization)
  })

export interface SettleDeps {
  readonly collect: () => boolean
  readonly utilization: (window: Duration.Duration) => Effect.Effect<number>
}

/** The first idle window after `FIRST_AFTER`; false when the server stays busy through every attempt. */
const idleWindow = (deps: SettleDeps): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if ((yield* deps.utilization(WINDOW)) < IDLE_UTILIZATION) return true
      yield* Effect.sleep(RETRY_AFTER)
    }
    return false
  })

/**
 * Waits for start-up to be over and an idle window, then collects; and once
 * more after the next idle window, for V8 counts what the first one promoted
 * as allocation (and may then keep the young generation's size). Gives up
 * while the server stays busy.
 */
export const settleMemory = (deps: SettleDeps = { collect: reduceFootprint, utilization: loopUtilization }): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    yield* Effect.sleep(FIRST_AFTER)
    if (!(yield* idleWindow(deps)) || !deps.collect()) return false
    return (yield* idleWindow(deps)) && deps.collect()
  })
