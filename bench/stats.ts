/** Order statistics over latency samples; nearest-rank so every reported value was actually observed. */

export interface Summary {
  readonly n: number
  readonly min: number
  readonly median: number
  readonly p90: number
  readonly p99: number
  readonly max: number
  readonly mean: number
}

export const quantile = (sorted: ReadonlyArray<number>, q: number): number => {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(q * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export const summarize = (samples: ReadonlyArray<number>): Summary => {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    median: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / sorted.length
  }
}

/** Rounds every number of a summary for the JSON report; sub-microsecond digits are noise. */
export const rounded = (summary: Summary, digits = 3): Summary => {
  const r = (x: number) => Number(x.toFixed(digits))
  return {
    n: summary.n,
    min: r(summary.min),
    median: r(summary.median),
    p90: r(summary.p90),
    p99: r(summary.p99),
    max: r(summary.max),
    mean: r(summary.mean)
  }
}
