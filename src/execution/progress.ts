import { Clock, Duration, Effect, Ref } from "effect"
import type { RunRequest } from "../runner/ProcessRunner.js"
import type { ToolProgress, ToolSpec } from "../tools/ToolSpec.js"
import type { Found, Progress } from "./ToolExecutor.js"

/**
 * Tools such as nmap restart their percentage at every phase (host discovery,
 * port scan, service detection, scripts), while MCP progress must only grow.
 * Phase k is mapped onto [100·(1−2^−k), 100·(1−2^−(k+1))): each phase takes
 * half of what is left, so the total approaches but never reaches 100 before
 * the result arrives. A new phase is a new task name, or a percentage lower
 * than the last. Returns `undefined` for values that would not advance.
 */
export const monotonicProgress = () => {
  let phase = 0
  let lastRaw = -1
  let lastTask: string | undefined
  let lastSent = -1
  return (raw: number, task?: string): { readonly value: number; readonly phase: number } | undefined => {
    if (raw < lastRaw || (task !== undefined && lastTask !== undefined && task !== lastTask)) phase += 1
    lastRaw = raw
    lastTask = task ?? lastTask
    const value = 100 * (1 - Math.pow(2, -phase)) + Math.min(Math.max(raw, 0), 100) * Math.pow(2, -(phase + 1))
    if (value <= lastSent) return undefined
    lastSent = value
    return { value, phase: phase + 1 }
  }
}

/** The end of phase `phase` (1-based) on the monotonic scale: heartbeats creep towards it and never pass it. */
const phaseCeiling = (phase: number) => 100 * (1 - Math.pow(2, -phase))

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** The progress message: where the tool is, how long it expects to take, what it found, how long it has run. */
export const progressMessage = (tool: string, p: Omit<Progress, "message" | "progress" | "total">): string => {
  const where = p.percent === undefined ? "running" : `${p.task ?? "phase"} ${p.percent.toFixed(1)}%`
  const eta = p.remainingSeconds === undefined ? "" : `, about ${Math.round(p.remainingSeconds)} s left`
  const found = [
    p.found?.hostsUp === undefined ? undefined : plural(p.found.hostsUp, "host up", "hosts up"),
    p.found?.openPorts === undefined ? undefined : plural(p.found.openPorts, "open port", "open ports")
  ].filter((f) => f !== undefined)
  const elapsed = p.elapsedSeconds === undefined ? [] : [`${Math.round(p.elapsedSeconds)} s elapsed`]
  return `${tool}: ${[`${where}${eta}`, ...(found.length === 0 ? [] : [`found so far ${found.join(", ")}`]), ...elapsed].join("; ")}`
}

interface State {
  readonly value: number
  readonly phase: number
  readonly last: ToolProgress | undefined
  readonly found: Found | undefined
  /** Monotonic nanoseconds of the last notification. */
  readonly sentAt: bigint
}

/**
 * The progress of one call. The tool's reports (`report`) and what a
 * streaming parser has found (`found`) go out as they come; `heartbeat`
 * sends one more whenever nothing went out for an interval, so a client that
 * resets its timeout on progress never waits longer than that, even while
 * the tool's percentage stands still (nmap's service detection waiting on a
 * silent port). Each notification's value is higher than the last.
 */
export interface ProgressTracker {
  readonly report: (progress: ToolProgress) => Effect.Effect<void>
  readonly found: (found: Found) => Effect.Effect<void>
  /** Runs until interrupted. */
  readonly heartbeat: (interval: Duration.DurationInput) => Effect.Effect<never>
}

export const makeProgressTracker = (
  tool: string,
  startedAt: bigint,
  onProgress: (progress: Progress) => Effect.Effect<void>
): Effect.Effect<ProgressTracker> =>
  Effect.gen(function*() {
    const advance = monotonicProgress()
    const state = yield* Ref.make<State>({ value: 0, phase: 1, last: undefined, found: undefined, sentAt: startedAt })
    const lock = yield* Effect.makeSemaphore(1)

    const send = (next: (s: State) => Omit<State, "sentAt">) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const now = yield* Clock.currentTimeNanos
        const s = { ...next(yield* Ref.get(state)), sentAt: now }
        yield* Ref.set(state, s)
        const fields = {
          ...(s.last === undefined ? {} : s.last),
          ...(s.found === undefined ? {} : { found: s.found }),
          elapsedSeconds: Number(now - startedAt) / 1e9
        }
        yield* onProgress({ progress: s.value, total: 100, message: progressMessage(tool, fields), ...fields })
      }))

    /**
     * A step that keeps the value growing without reaching the end of the
     * current phase; a phase the tool reported at 100% has no room left, so
     * the step is taken from the next one's.
     */
    const nudge = (s: State) => {
      const ceiling = phaseCeiling(s.phase) - s.value > 1e-9 ? phaseCeiling(s.phase) : phaseCeiling(s.phase + 1)
      return { ...s, value: s.value + (ceiling - s.value) / 100 }
    }

    const report = (progress: ToolProgress) =>
      Effect.suspend(() => {
        const step = advance(progress.percent, progress.task)
        // a heartbeat may have nudged the value past what the tool's own percentage maps to
        return send((s) =>
          step === undefined || step.value <= s.value ? nudge({ ...s, last: progress }) : { ...s, ...step, last: progress }
        )
      })

    const heartbeat = (interval: Duration.DurationInput) => {
      const every = BigInt(Math.round(Duration.toMillis(interval))) * 1_000_000n
      const due = Effect.gen(function*() {
        const now = yield* Clock.currentTimeNanos
        const wait = (yield* Ref.get(state)).sentAt + every - now
        return wait > 0n ? yield* Effect.sleep(Duration.nanos(wait)) : yield* send(nudge)
      })
      return Effect.forever(due)
    }

    return { report, found: (found) => send((s) => nudge({ ...s, found })), heartbeat }
  })

/** The runner's output observer that turns a tool's progress lines into reports to `tracker`; undefined when the tool reports none. */
export const progressObserver = (spec: ToolSpec<any>, tracker: ProgressTracker | undefined): OutputObserver | undefined => {
  const progress = spec.progress
  if (progress === undefined || tracker === undefined) return undefined
  return (_stream, chunk) => {
    const step = progress(chunk)
    return step === undefined ? Effect.void : tracker.report(step)
  }
}

export type OutputObserver = NonNullable<RunRequest["onOutput"]>

/** One observer that hands every chunk to each of `observers` in turn; undefined when there is none. */
export const observeOutput = (observers: ReadonlyArray<OutputObserver | undefined>): OutputObserver | undefined => {
  const present = observers.filter((o): o is OutputObserver => o !== undefined)
  if (present.length <= 1) return present[0]
  return (stream, chunk) => Effect.forEach(present, (observe) => observe(stream, chunk), { discard: true })
}
