import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Queue } from "effect"
import type { Caller } from "../../src/identity/Caller.js"
import { caller, type Harness, makeHarness } from "./support.js"

/** Issue 13 item 11: one caller can neither drain a tool's shared bucket nor fill its queue for everyone. */

const greedy: Caller = { ...caller, id: "greedy" }
const polite: Caller = { ...caller, id: "polite" }
const call = (who: Caller) => (h: Harness) => Effect.either(h.executor.execute("NmapTool", { target: "127.0.0.1" }, who))

describe("per-client fairness in the executor", () => {
  it.scoped("a client takes at most its share of a tool's bucket; what it could not take stays for the others", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ rate_limit: { tool_requests_per_minute: 4, tool_burst: 4, burst: 4, client_share: 0.5 } })
      const mine = yield* Effect.forEach([1, 2, 3, 4], () => call(greedy)(h))
      expect(mine.map((r) => (r._tag === "Left" && r.left._tag === "RateLimited" ? r.left.scope : r._tag))).toEqual([
        "Right",
        "Right",
        "share:NmapTool:greedy",
        "share:NmapTool:greedy"
      ])
      const theirs = yield* Effect.forEach([1, 2], () => call(polite)(h))
      expect(theirs.map((r) => r._tag)).toEqual(["Right", "Right"])
    }))

  it.scoped("a client's burst fills its share of the queue; another client still runs and queues", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({
        rate_limit: { enabled: false },
        tools: { NmapTool: { concurrency: 2 } },
        tool: { queue_size: 4, client_share: 0.5 }
      })
      yield* h.fake.behave({ _tag: "Hang" })
      const flood = yield* Effect.forEach([1, 2, 3, 4, 5, 6], () => Effect.fork(call(greedy)(h)), { concurrency: "unbounded" })
      yield* Queue.take(h.fake.started)
      yield* Effect.iterate(0, { while: (n) => n < 2, body: () => h.limiter.queued("NmapTool") })
      // greedy: 1 running (its share of 2), 2 waiting (its share of 4), the other 3 turned away.
      const busy = yield* Effect.forEach(flood.slice(3), Fiber.join)
      expect(busy.map((r) => r._tag === "Left" && r.left._tag)).toEqual(["ToolBusy", "ToolBusy", "ToolBusy"])
      const other = yield* Effect.fork(call(polite)(h))
      const started = yield* Queue.take(h.fake.started)
      expect(started.args).toContain("127.0.0.1")
      expect(yield* h.limiter.active("NmapTool")).toBe(2)
      yield* Fiber.interrupt(other)
      yield* Effect.forEach(flood.slice(0, 3), Fiber.interrupt)
    }))
})
