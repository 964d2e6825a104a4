import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, FastCheck, TestClock } from "effect"
import { makeProgressTracker, monotonicProgress } from "../../src/execution/progress.js"
import type { Progress } from "../../src/execution/ToolExecutor.js"

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

describe("progress tracker", () => {
  const track = Effect.gen(function*() {
    const seen: Array<Progress> = []
    const start = yield* Clock.currentTimeNanos
    const tracker = yield* makeProgressTracker("NmapTool", start, (p) => Effect.sync(() => seen.push(p)))
    return { seen, tracker }
  })

  it.scoped("a heartbeat every interval while nothing new comes, each higher than the last and below the phase's end", () =>
    Effect.gen(function*() {
      const { seen, tracker } = yield* track
      yield* Effect.forkScoped(tracker.heartbeat("5 seconds"))
      yield* TestClock.adjust("4 seconds")
      expect(seen).toEqual([])
      yield* tracker.report({ task: "Service scan", percent: 50, remainingSeconds: 12 })
      expect(seen.at(-1)).toMatchObject({
        progress: 25,
        total: 100,
        task: "Service scan",
        percent: 50,
        message: "NmapTool: Service scan 50.0%, about 12 s left; 4 s elapsed"
      })
      // the percentage stands still: the tool's repeated report and the heartbeats still advance
      yield* tracker.report({ task: "Service scan", percent: 50, remainingSeconds: 12 })
      for (let i = 0; i < 6; i++) yield* TestClock.adjust("5 seconds")
      expect(seen).toHaveLength(8)
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress)
      expect(seen.every((p) => p.progress < 50)).toBe(true)
      expect(seen.at(-1)?.message).toBe("NmapTool: Service scan 50.0%, about 12 s left; 34 s elapsed")
    }))

  it.scoped("the first heartbeat comes one interval after the start; a report resets the wait", () =>
    Effect.gen(function*() {
      const { seen, tracker } = yield* track
      yield* Effect.forkScoped(tracker.heartbeat("5 seconds"))
      yield* TestClock.adjust("5 seconds")
      expect(seen.map((p) => p.message)).toEqual(["NmapTool: running; 5 s elapsed"])
      yield* TestClock.adjust("3 seconds")
      yield* tracker.report({ percent: 10 })
      yield* TestClock.adjust("3 seconds")
      expect(seen).toHaveLength(2)
      yield* TestClock.adjust("2 seconds")
      expect(seen).toHaveLength(3)
    }))

  it.scoped("what a streaming parser found so far is part of the message", () =>
    Effect.gen(function*() {
      const { seen, tracker } = yield* track
      yield* tracker.report({ task: "Connect Scan", percent: 20 })
      yield* tracker.found({ hostsUp: 3, openPorts: 1 })
      expect(seen.at(-1)).toMatchObject({
        found: { hostsUp: 3, openPorts: 1 },
        message: "NmapTool: Connect Scan 20.0%; found so far 3 hosts up, 1 open port; 0 s elapsed"
      })
      expect(seen[1]!.progress).toBeGreaterThan(seen[0]!.progress)
    }))

  it.scoped("a phase reported at 100% still leaves room: found-so-far reports and heartbeats after it go higher", () =>
    Effect.gen(function*() {
      const { seen, tracker } = yield* track
      yield* tracker.report({ task: "Connect Scan", percent: 100 })
      yield* tracker.found({ hostsUp: 1, openPorts: 1 })
      yield* tracker.found({ hostsUp: 2, openPorts: 2 })
      yield* tracker.report({ task: "Service scan", percent: 1 })
      expect(seen[0]!.progress).toBe(50)
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress)
    }))

  it.scoped("a tool report after heartbeats never goes below them", () =>
    Effect.gen(function*() {
      const { seen, tracker } = yield* track
      yield* Effect.forkScoped(tracker.heartbeat("5 seconds"))
      yield* TestClock.adjust("10 seconds")
      yield* tracker.report({ task: "Service scan", percent: 0 })
      yield* tracker.report({ task: "Service scan", percent: 0.5 })
      yield* tracker.report({ task: "Service scan", percent: 40 })
      for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress)
      expect(seen.at(-1)?.progress).toBe(20)
    }))

  it("a new task name starts a new phase even when its percentage is higher", () => {
    const next = monotonicProgress()
    expect(next(10, "Ping Scan")?.phase).toBe(1)
    expect(next(20, "Connect Scan")?.phase).toBe(2)
    expect(next(30, "Connect Scan")?.phase).toBe(2)
  })
})
