import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { monotonicProgress } from "../../src/execution/progress.js"

describe("monotonicProgress", () => {
  it("maps restarting phases onto one increasing range", () => {
    const next = monotonicProgress()
    expect(next(0)).toEqual({ value: 0, phase: 1 })
    expect(next(50)?.value).toBe(25)
    expect(next(100)?.value).toBe(50)
    expect(next(10)?.value).toBe(52.5)
    expect(next(10)).toBeUndefined()
    expect(next(100)?.value).toBe(75)
  })

  it.prop("never goes backwards and stays below 100", [
    FastCheck.array(FastCheck.double({ min: 0, max: 100, noNaN: true }), { maxLength: 200 })
  ], ([raws]) => {
    const next = monotonicProgress()
    let last = -1
    for (const raw of raws) {
      const step = next(raw)
      if (step === undefined) continue
      expect(step.value).toBeGreaterThan(last)
      expect(step.value).toBeLessThanOrEqual(100)
      last = step.value
    }
  })
})
