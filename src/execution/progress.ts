import { Effect } from "effect"
import type { RunRequest } from "../runner/ProcessRunner.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import type { Progress } from "./ToolExecutor.js"

/**
 * Tools such as nmap restart their percentage at every phase (host discovery,
 * port scan, service detection, scripts), while MCP progress must only grow.
 * Phase k is mapped onto [100·(1−2^−k), 100·(1−2^−(k+1))): each phase takes
 * half of what is left, so the total approaches but never reaches 100 before
 * the result arrives. Returns `undefined` for values that would not advance.
 */
export const monotonicProgress = () => {
  let phase = 0
  let lastRaw = -1
  let lastSent = -1
  return (raw: number): { readonly value: number; readonly phase: number } | undefined => {
    if (raw < lastRaw) phase += 1
    lastRaw = raw
    const value = 100 * (1 - Math.pow(2, -phase)) + Math.min(Math.max(raw, 0), 100) * Math.pow(2, -(phase + 1))
    if (value <= lastSent) return undefined
    lastSent = value
    return { value, phase: phase + 1 }
  }
}

/**
 * The runner's output observer that turns a tool's progress lines into
 * monotonic MCP progress, or undefined when the tool reports no progress or
 * the caller did not ask for it.
 */
export const progressObserver = (
  spec: ToolSpec<any>,
  onProgress: ((progress: Progress) => Effect.Effect<void>) | undefined
): OutputObserver | undefined => {
  const progress = spec.progress
  if (progress === undefined || onProgress === undefined) return undefined
  const advance = monotonicProgress()
  return (_stream, chunk) => {
    const raw = progress(chunk)
    const step = raw === undefined ? undefined : advance(raw)
    return step === undefined
      ? Effect.void
      : onProgress({ progress: step.value, total: 100, message: `${spec.name}: phase ${step.phase}, ${raw!.toFixed(1)}%` })
  }
}

export type OutputObserver = NonNullable<RunRequest["onOutput"]>

/** One observer that hands every chunk to each of `observers` in turn; undefined when there is none. */
export const observeOutput = (observers: ReadonlyArray<OutputObserver | undefined>): OutputObserver | undefined => {
  const present = observers.filter((o): o is OutputObserver => o !== undefined)
  if (present.length <= 1) return present[0]
  return (stream, chunk) => Effect.forEach(present, (observe) => observe(stream, chunk), { discard: true })
}
