import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { alternate, paired, quantile, summarize } from "./stats.js"

describe("summarize", () => {
  it("reports nearest-rank quantiles that were actually observed", () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i)
    const s = summarize(samples)
    expect(s).toMatchObject({ n: 100, min: 1, median: 50, p90: 90, p99: 99, max: 100, mean: 50.5 })
  })

  it("handles one sample and none", () => {
    expect(summarize([7])).toMatchObject({ median: 7, p90: 7, p99: 7 })
    expect(Number.isNaN(summarize([]).median)).toBe(true)
  })

  it.prop("quantiles are monotone and within the samples", [
    FastCheck.array(FastCheck.double({ noNaN: true, min: 0, max: 1e6 }), { minLength: 1 })
  ], ([samples]) => {
    const sorted = [...samples].sort((a, b) => a - b)
    const qs = [0, 0.1, 0.5, 0.9, 0.99, 1].map((q) => quantile(sorted, q))
    for (let i = 1; i < qs.length; i++) expect(qs[i]!).toBeGreaterThanOrEqual(qs[i - 1]!)
    for (const q of qs) expect(samples).toContain(q)
  })
})

describe("paired", () => {
  it("compares medians and the medians of per-pair ratios and differences", () => {
    const p = paired([12, 11, 30, 13], [10, 10, 10, 11])
    expect(p.ours.median).toBe(12)
    expect(p.baseline.median).toBe(10)
    expect(p.ratioOfMedians).toBeCloseTo(1.2)
    expect(p.medianPairedDifference).toBe(2)
    expect(p.medianPairedRatio).toBeCloseTo(1.1818, 3)
  })

  it("refuses samples that are not pairs", () => {
    expect(() => paired([1, 2], [1])).toThrow(/unpaired/)
  })
})

describe("alternate", () => {
  it.effect("alternates which side runs first and drops the warm-up pairs", () =>
    Effect.gen(function*() {
      const order: Array<string> = []
      let n = 0
      const side = (name: string) => Effect.sync(() => (order.push(name), ++n))
      const runs = yield* alternate(3, 1, side("ours"), side("base"))
      expect(order).toEqual(["ours", "base", "base", "ours", "ours", "base", "base", "ours"])
      expect(runs).toEqual({ ours: [4, 5, 8], baseline: [3, 6, 7] })
    }))
})
