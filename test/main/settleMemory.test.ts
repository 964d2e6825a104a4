import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, TestClock } from "effect"
import { getHeapSpaceStatistics } from "node:v8"
import { reduceFootprint, settleMemory } from "../../src/main/settleMemory.js"

/** A fake loop that is busy for the first `busyWindows` windows it is asked about, idle after. */
const fakeDeps = (busyWindows: number) => {
  const seen = { windows: 0, collections: 0 }
  return {
    seen,
    deps: {
      collect: () => {
        seen.collections++
        return true
      },
      utilization: (window: Duration.Duration) => Effect.map(Effect.sleep(window), () => (seen.windows++ < busyWindows ? 0.9 : 0.01))
    }
  }
}

describe("settleMemory", () => {
  it.effect("collects twice once start-up is over and the loop is idle, and is done", () =>
    Effect.gen(function*() {
      const { deps, seen } = fakeDeps(0)
      const fiber = yield* Effect.fork(settleMemory(deps))
      yield* TestClock.adjust(Duration.seconds(9))
      expect(seen.collections).toBe(0)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(seen.collections).toBe(1)
      yield* TestClock.adjust(Duration.seconds(6))
      expect(yield* Fiber.join(fiber)).toBe(true)
      expect(seen.collections).toBe(2)
    }))

  it.effect("waits while the loop is busy, and gives up on a server that stays busy", () =>
    Effect.gen(function*() {
      const busyAWhile = fakeDeps(3)
      const settled = yield* Effect.fork(settleMemory(busyAWhile.deps))
      yield* TestClock.adjust(Duration.seconds(4 + 3 * 11))
      expect(busyAWhile.seen.collections).toBe(0)
      yield* TestClock.adjust(Duration.seconds(12))
      expect(yield* Fiber.join(settled)).toBe(true)
      expect(busyAWhile.seen.collections).toBe(2)

      const alwaysBusy = fakeDeps(Number.POSITIVE_INFINITY)
      const gaveUp = yield* Effect.fork(settleMemory(alwaysBusy.deps))
      yield* TestClock.adjust(Duration.minutes(5))
      expect(yield* Fiber.poll(gaveUp)).toEqual(Option.some(expect.anything()))
      expect(yield* Fiber.join(gaveUp)).toBe(false)
      expect(alwaysBusy.seen.collections).toBe(0)
    }))

  it("reduceFootprint runs a full GC on this Node, which leaves the young generation small", () => {
    expect(reduceFootprint()).toBe(true)
    const young = getHeapSpaceStatistics().find((space) => space.space_name === "new_space")
    expect(young?.space_used_size).toBeLessThan(4 * 1024 * 1024)
  })
})
