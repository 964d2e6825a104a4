import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck, TestClock } from "effect"
import { encode, isUlid, makeUlidGenerator, nextState, ulidMillis } from "../../src/storage/ulid.js"

const digits = FastCheck.array(FastCheck.integer({ min: 0, max: 31 }), { minLength: 16, maxLength: 16 })

describe("ULID scan ids", () => {
  it.prop("encode the time in the first ten characters, so text order is time order", {
    a: FastCheck.integer({ min: 0, max: 2 ** 48 - 1 }),
    b: FastCheck.integer({ min: 0, max: 2 ** 48 - 1 }),
    random: digits
  }, ({ a, b, random }) => {
    const [x, y] = [encode({ millis: a, random }), encode({ millis: b, random })]
    expect(isUlid(x)).toBe(true)
    expect(ulidMillis(x)).toBe(a)
    expect(Math.sign(x.localeCompare(y))).toBe(Math.sign(a - b))
  })

  it.prop("never go backwards: same millisecond or a clock stepped back increments the previous id", {
    millis: FastCheck.integer({ min: 0, max: 2 ** 40 }),
    back: FastCheck.integer({ min: 0, max: 10_000 }),
    previous: digits,
    fresh: digits
  }, ({ back, fresh, millis, previous }) => {
    const before = { millis, random: previous }
    const after = nextState(before, millis - back, fresh)
    expect(encode(after) > encode(before)).toBe(true)
  })

  it("rolls into the next millisecond when the random part is exhausted", () => {
    const full = { millis: 5, random: Array.from({ length: 16 }, () => 31) }
    const fresh = Array.from({ length: 16 }, () => 0)
    expect(nextState(full, 5, fresh)).toEqual({ millis: 6, random: fresh })
  })

  it.effect("the generator reads the Clock and keeps its ids strictly increasing", () =>
    Effect.gen(function*() {
      const next = yield* makeUlidGenerator
      yield* TestClock.setTime(1_700_000_000_000)
      const ids = yield* Effect.all(Array.from({ length: 50 }, () => next))
      expect([...ids].sort()).toEqual(ids)
      expect(new Set(ids).size).toBe(50)
      expect(ulidMillis(ids[0]!)).toBe(1_700_000_000_000)
      expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(true)
      expect(isUlid("01ARZ3NDEKTSV4RRFFQ69G5FAI")).toBe(false)
      expect(isUlid("81ARZ3NDEKTSV4RRFFQ69G5FAV")).toBe(false)
    }))
})
