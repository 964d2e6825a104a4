import { describe, expect, it } from "@effect/vitest"
import { BEGIN, END, renderBench, replaceBench, type Results } from "./readme.js"
import { evaluate, formatTarget, type Row, type Target } from "./report.js"

const results: Results = {
  machine: {
    date: "2026-12-01T12:00:00.000Z",
    node: "v20.20.2",
    platform: "linux 6.1 x64",
    cpus: 2,
    cpuModel: "CPU",
    memoryGb: 4,
    nmap: "Nmap 7.93"
  },
  load: { atStart: [0.5, 0.4, 0.3], atEnd: [0.9, 0.5, 0.3], during: { samples: 3, min: 0.5, median: 0.7, max: 0.9 } },
  rows: [
    evaluate({
      name: "trivial call",
      unit: "ms",
      ours: 6,
      baseline: 4.5,
      baselineLabel: "argv | direct",
      target: { on: "difference", max: 2 },
      difference: 1.4,
      spread: { ours: { n: 9, min: 5, median: 6, max: 9 }, baseline: { n: 9, min: 4, median: 4.5, max: 6 } },
      note: "fixed cost 1.40 ms"
    }),
    evaluate({ name: "idle RSS", unit: "MB", ours: 70, baseline: 44, baselineLabel: "bare", target: { on: "ours", max: 80 } })
  ]
}

describe("the README's performance block", () => {
  it("renders the machine, the load and one row per figure, with spreads, targets and escaped cells", () => {
    const block = renderBench(results)
    expect(block).toContain("2× CPU, 4 GB, Node v20.20.2")
    expect(block).toContain("load average 0.5 at the start, 0.5–0.9 during the run (median 0.7, 3 samples), 0.9 at the end")
    expect(block).toContain("2 of 2 targets met")
    expect(block).toContain(
      "| trivial call | 6.00 ms (5.00–9.00) | 4.50 ms (4.00–6.00) (argv \\| direct) | 1.33× | ≤ 2.00 ms over baseline | yes |"
    )
    expect(block).toContain("| idle RSS | 70.0 MB | 44.0 MB (bare) | 1.59× | ≤ 80.0 MB | yes |")
    expect(block).toContain("- trivial call: fixed cost 1.40 ms")
  })

  it("replaces only what is between the markers", () => {
    const readme = `# T\n\nbefore\n\n${BEGIN}\nold table\n${END}\n\nafter\n`
    const next = replaceBench(readme, "new table")
    expect(next).toBe(`# T\n\nbefore\n\n${BEGIN}\nnew table\n${END}\n\nafter\n`)
    expect(replaceBench(next, "new table")).toBe(next)
    expect(() => replaceBench("# no block", "x")).toThrow(/BEGIN BENCH/)
  })

  // A median of per-pair figures, not the same figure of the two medians: nmap's all-ports time is bimodal here.
  it("a fixed-cost or paired-ratio target judges the median of the per-pair figures", () => {
    const judged = (target: Target, pair: Partial<Row>) =>
      evaluate({ name: "x", unit: "ms", ours: 2300, baseline: 1500, baselineLabel: "b", target, ...pair })
    const difference = judged({ on: "difference", max: 2 }, { difference: 1.5 })
    const ratio = judged({ on: "pairedRatio", max: 1.05 }, { pairedRatio: 1.02 })
    expect([difference.met, ratio.met]).toEqual([true, true])
    expect(ratio.ratio).toBeCloseTo(1.533, 3)
    expect(formatTarget(ratio.target, ratio.unit)).toBe("≤ 1.05× (median of paired ratios)")
    expect(judged({ on: "difference", max: 2 }, {}).met).toBe(false)
    expect(judged({ on: "pairedRatio", max: 1.05 }, {}).met).toBe(false)
  })
})
