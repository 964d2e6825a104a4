import { Clock, Effect } from "effect"

/**
 * `Clock`'s monotonic reading in milliseconds, for durations and deadlines:
 * a step of the wall clock (NTP, an operator) neither stretches nor shortens
 * them. Live, it starts at the wall-clock time of the process start, so it
 * still reads as a timestamp; under `TestClock` it is the test's time.
 */
export const monotonicMillis: Effect.Effect<number> = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos / 1_000_000n))
