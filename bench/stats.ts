import { Effect } from "effect"

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

/** Ours and a baseline measured in alternation, run i of one next to run i of the other. */
export interface Paired {
  readonly ours: Summary
  readonly baseline: Summary
  /** median(ours) / median(baseline): the figure the rows compare. */
  readonly ratioOfMedians: number
  /** Median of ours[i] / baseline[i]: drift that hits a pair hits both of its runs alike. */
  readonly medianPairedRatio: number
  /** Median of ours[i] − baseline[i]: a fixed cost on top of the baseline. */
  readonly medianPairedDifference: number
}

export const paired = (ours: ReadonlyArray<number>, baseline: ReadonlyArray<number>): Paired => {
  if (ours.length !== baseline.length) throw new Error(`unpaired samples: ${ours.length} and ${baseline.length}`)
  const o = summarize(ours)
  const b = summarize(baseline)
  return {
    ours: o,
    baseline: b,
    ratioOfMedians: o.median / b.median,
    medianPairedRatio: summarize(ours.map((x, i) => x / baseline[i]!)).median,
    medianPairedDifference: summarize(ours.map((x, i) => x - baseline[i]!)).median
  }
}

export const roundedPaired = (p: Paired, digits = 3): Paired => {
  const r = (x: number) => Number(x.toFixed(digits))
  return {
    ours: rounded(p.ours, digits),
    baseline: rounded(p.baseline, digits),
    ratioOfMedians: r(p.ratioOfMedians),
    medianPairedRatio: r(p.medianPairedRatio),
    medianPairedDifference: r(p.medianPairedDifference)
  }
}

/**
 * Runs `ours` and `baseline` alternately, `runs` times each after `warmup`
 * discarded pairs; every other pair starts with the baseline, so neither
 * always runs second (right after the other has warmed a cache or a core).
 */
export const alternate = <A, B, E, R>(
  runs: number,
  warmup: number,
  ours: Effect.Effect<A, E, R>,
  baseline: Effect.Effect<B, E, R>
): Effect.Effect<{ readonly ours: ReadonlyArray<A>; readonly baseline: ReadonlyArray<B> }, E, R> =>
  Effect.gen(function*() {
    const o: Array<A> = []
    const b: Array<B> = []
    for (let i = 0; i < warmup + runs; i++) {
      let x: A
      let y: B
      if (i % 2 === 0) {
        x = yield* ours
        y = yield* baseline
      } else {
        y = yield* baseline
        x = yield* ours
      }
      if (i >= warmup) {
        o.push(x)
        b.push(y)
      }
    }
    return { ours: o, baseline: b }
  })
