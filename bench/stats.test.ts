import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { quantile, summarize } from "./stats.js"

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
