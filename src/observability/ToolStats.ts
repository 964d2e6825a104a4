import { Context, Effect, Layer, Ref } from "effect"
import type { ExecutionOutcome } from "../ExecutionOutcome.js"

export interface ExecutionSample {
  readonly durationSeconds: number
  readonly outcome: ExecutionOutcome
  /** The error's tag or the result's error_type; null on success. */
  readonly errorType: string | null
}

export interface ToolStatsSnapshot {
  /** Executions recorded since start-up, not only the window. */
  readonly total: number
  readonly active: number
  /** Over the window of the last executions; null before the first one. */
  readonly successRate: number | null
  readonly latencySeconds: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null }
  readonly errorsByType: Readonly<Record<string, number>>
  readonly timeouts: number
  readonly window: number
  readonly recent: ReadonlyArray<ExecutionSample>
}

export const WINDOW_SIZE = 100

/**
 * Nearest-rank percentile (the smallest value with at least `p`% of the
 * samples at or below it): always an observed latency, never an interpolated
 * one, and defined for a single sample.
 */
export const percentile = (values: ReadonlyArray<number>, p: number): number | null => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((Math.min(Math.max(p, 0), 100) / 100) * sorted.length)
  return sorted[Math.max(rank, 1) - 1] ?? null
}

export interface ToolState {
  readonly total: number
  readonly active: number
  /** Oldest first, at most WINDOW_SIZE. */
  readonly recent: ReadonlyArray<ExecutionSample>
}

export const emptyState: ToolState = { total: 0, active: 0, recent: [] }

/** Pure: the window keeps the newest WINDOW_SIZE samples. */
export const addSample = (state: ToolState, sample: ExecutionSample): ToolState => ({
  ...state,
  total: state.total + 1,
  recent: state.recent.length < WINDOW_SIZE
    ? [...state.recent, sample]
    : [...state.recent.slice(state.recent.length - WINDOW_SIZE + 1), sample]
})

export const summarize = (state: ToolState): ToolStatsSnapshot => {
  const { recent } = state
  const durations = recent.map((s) => s.durationSeconds)
  const errorsByType: Record<string, number> = {}
  for (const sample of recent) {
    if (sample.outcome !== "success") {
      const type = sample.errorType ?? sample.outcome
      errorsByType[type] = (errorsByType[type] ?? 0) + 1
    }
  }
  return {
    total: state.total,
    active: state.active,
    successRate: recent.length === 0 ? null : recent.filter((s) => s.outcome === "success").length / recent.length,
    latencySeconds: { p50: percentile(durations, 50), p95: percentile(durations, 95), p99: percentile(durations, 99) },
    errorsByType,
    timeouts: recent.filter((s) => s.outcome === "timeout").length,
    window: recent.length,
    recent
  }
}

/**
 * In-process statistics per tool for the `/tools` and stats endpoints, where
 * Prometheus is not there to compute rates and quantiles.
 */
export class ToolStats extends Context.Tag("security-mcp/ToolStats")<
  ToolStats,
  {
    readonly record: (tool: string, sample: ExecutionSample) => Effect.Effect<void>
    /** Counts `effect` as active while it runs, however it ends. */
    readonly trackActive: <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    readonly snapshot: Effect.Effect<Readonly<Record<string, ToolStatsSnapshot>>>
    readonly forTool: (tool: string) => Effect.Effect<ToolStatsSnapshot>
  }
>() {
  static readonly layer = Layer.effect(
    ToolStats,
    Effect.gen(function*() {
      const ref = yield* Ref.make<ReadonlyMap<string, ToolState>>(new Map())
      const update = (tool: string, f: (s: ToolState) => ToolState) =>
        Ref.update(ref, (m) => new Map(m).set(tool, f(m.get(tool) ?? emptyState)))
      const adjustActive = (tool: string, delta: number) => update(tool, (s) => ({ ...s, active: Math.max(0, s.active + delta) }))
      return {
        record: (tool, sample) => update(tool, (s) => addSample(s, sample)),
        trackActive: (tool, effect) => Effect.acquireUseRelease(adjustActive(tool, 1), () => effect, () => adjustActive(tool, -1)),
        snapshot: Effect.map(
          Ref.get(ref),
          (m) => Object.fromEntries([...m].map(([tool, state]) => [tool, summarize(state)]))
        ),
        forTool: (tool) => Effect.map(Ref.get(ref), (m) => summarize(m.get(tool) ?? emptyState))
      }
    })
  )
}
