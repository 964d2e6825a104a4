import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { integerRuns, type Run } from "../../../src/tools/summary/ranges.js"

/** The runs as the summary defines them: distinct values in ascending order, consecutive ones joined. */
const reference = (values: ReadonlyArray<number>): ReadonlyArray<Run<number>> => {
  const runs: Array<Run<number>> = []
  for (const v of [...new Set(values)].sort((a, b) => a - b)) {
    const last = runs[runs.length - 1]
    if (last !== undefined && v === last.last + 1) runs[runs.length - 1] = { first: last.first, last: v, count: last.count + 1 }
    else runs.push({ first: v, last: v, count: 1 })
  }
  return runs
}

const values = FastCheck.array(FastCheck.integer({ min: -5, max: 40 }), { maxLength: 40 })

describe("integerRuns", () => {
  it.prop("joins consecutive values of any list, in any order, with duplicates", { values }, ({ values }) => {
    expect(integerRuns(values)).toEqual(reference(values))
    expect(integerRuns(new Set(values))).toEqual(reference(values))
  })

  it.prop("reads a list already in ascending order (a host's ports) as it is", { values }, ({ values }) => {
    const ascending = [...new Set(values)].sort((a, b) => a - b)
    expect(integerRuns(ascending)).toEqual(reference(ascending))
  })

  it("writes 20000-20049 as one run and keeps gaps apart", () => {
    expect(integerRuns(Array.from({ length: 50 }, (_, i) => 20000 + i))).toEqual([{ first: 20000, last: 20049, count: 50 }])
    expect(integerRuns([22, 80, 81, 443, 80])).toEqual([
      { first: 22, last: 22, count: 1 },
      { first: 80, last: 81, count: 2 },
      { first: 443, last: 443, count: 1 }
    ])
  })
})
