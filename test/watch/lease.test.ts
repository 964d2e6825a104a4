import { describe, expect, it } from "@effect/vitest"
import { stillHeld } from "../../src/watch/Scheduler.js"

describe("whether a run still holds its lease after a renewal attempt", () => {
  it.each([
    { case: "renewed", renewed: true, now: 50_000, held: true },
    { case: "refused: another instance has it", renewed: false, now: 1_000, held: false },
    { case: "the store did not answer, the last renewal still covers now", renewed: undefined, now: 29_999, held: true },
    { case: "the store did not answer past the last renewal's end", renewed: undefined, now: 30_000, held: false }
  ])("$case", ({ held, now, renewed }) => {
    expect(stillHeld(renewed, 30_000, now)).toBe(held)
  })
})
