import { Cron, Either } from "effect"

/**
 * When a schedule runs: plain functions of the spec and a time, so due-time
 * logic is tested without a clock. Cron expressions have five fields and are
 * read in UTC. Whatever was missed, the next run is the first one after
 * `now`: a server that was down runs an overdue schedule once, never a burst.
 */

export type Timing =
  | { readonly _tag: "cron"; readonly cron: Cron.Cron; readonly expression: string }
  | { readonly _tag: "interval"; readonly seconds: number }

/** The schedule's timing, or why it has none that can be used. */
export const parseTiming = (
  spec: { readonly cron: string | null; readonly interval: number | null },
  minInterval: number
): Either.Either<Timing, string> => {
  if ((spec.cron === null) === (spec.interval === null)) {
    return Either.left("give exactly one of cron (five fields, e.g. \"*/15 * * * *\") or interval (seconds)")
  }
  if (spec.interval !== null) {
    return spec.interval < minInterval
      ? Either.left(`interval ${spec.interval} s is shorter than watch.min_interval (${minInterval} s)`)
      : Either.right({ _tag: "interval", seconds: spec.interval })
  }
  const expression = spec.cron!.trim()
  const fields = expression.split(/\s+/)
  if (fields.length !== 5) {
    return Either.left(`cron "${expression}" has ${fields.length} fields; give five: minute hour day-of-month month weekday (UTC)`)
  }
  return Either.mapBoth(Cron.parse(expression, "UTC"), {
    onLeft: (error) => `cron "${expression}" is invalid: ${error.message}`,
    onRight: (cron): Timing => ({ _tag: "cron", cron, expression })
  })
}

/** The first run strictly after `now`, before jitter. */
export const nextAfter = (timing: Timing, now: number): number =>
  timing._tag === "cron" ? Cron.next(timing.cron, new Date(now)).getTime() : now + timing.seconds * 1000

/** The first run of a new schedule: an interval schedule runs at once, a cron one at its next slot. */
export const firstRun = (timing: Timing, now: number): number => (timing._tag === "interval" ? now : nextAfter(timing, now))

/** `at` plus `fraction` (0 ≤ fraction < 1, drawn from Random) of the jitter, in whole milliseconds. */
export const withJitter = (at: number, jitterSeconds: number, fraction: number): number => at + Math.floor(jitterSeconds * 1000 * fraction)
