import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Metric, TestClock } from "effect"
import { defaults } from "../../src/config/schema.js"
import { InvalidInput } from "../../src/errors.js"
import { MalformedBody } from "../../src/execution/input.js"
import type { Caller } from "../../src/identity/Caller.js"
import { caller, type Harness, makeHarness } from "./support.js"

/**
 * Issue 13 item 5: a flood costs before any limit applies. The client's own
 * bucket is taken first, before the call is decoded, looked up, audited,
 * counted or published; past it, rejections are counted into one line per
 * client per interval, and no made-up name ever becomes a metric label.
 */

const FLOOD = 400
/** The shipped client bucket: that many calls are audited in full before the limit applies. */
const BURST = defaults.rate_limit.burst

/** Every label value of every metric series: a made-up tool name must be none of them. */
const labelValues = Effect.map(Metric.snapshot, (pairs) => pairs.flatMap((pair) => pair.metricKey.tags.map((tag) => tag.value)))

/** Waits (on the event loop: the test clock stands still) until the audit log satisfies `done`. */
const auditUntil = (h: Harness, done: (lines: ReadonlyArray<Record<string, unknown>>) => boolean) =>
  Effect.gen(function*() {
    for (let i = 0; i < 500; i++) {
      const lines = yield* h.audit
      if (done(lines)) return lines
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
    }
    return yield* Effect.die(new Error("the audit log never got the expected lines"))
  })

const flood = (h: Harness, who: Caller, name: (i: number) => string, input: (i: number) => unknown) =>
  Effect.forEach(
    Array.from({ length: FLOOD }, (_, i) => i),
    (i) => Effect.either(h.executor.execute(name(i), input(i), who)),
    { concurrency: 16 }
  )

describe("a flood of rejected calls from one client", () => {
  it.scoped("costs a bounded audit log: a line per call within the limit, then one aggregated line whose counts add up", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ security: { audit_rejections_interval: 60 } })
      const results = yield* flood(h, caller, (i) => `invented-tool-${i}`, () => ({ target: "127.0.0.1" }))
      expect(results.every((r) => r._tag === "Left")).toBe(true)
      const tags = results.map((r) => (r._tag === "Left" ? r.left._tag : "none"))
      expect(tags.filter((tag) => tag === "ToolNotFound")).toHaveLength(BURST)
      expect(tags.filter((tag) => tag === "RateLimited")).toHaveLength(FLOOD - BURST)
      // Within the limit each refusal is a full line; past it nothing is written yet.
      expect((yield* h.audit).length).toBe(BURST)
      yield* TestClock.adjust(Duration.seconds(60))
      const lines = yield* auditUntil(h, (all) => all.some((line) => line["kind"] === "rejections"))
      const executions = lines.filter((line) => line["kind"] === "execution")
      const aggregated = lines.filter((line) => line["kind"] === "rejections")
      expect(executions).toHaveLength(BURST)
      expect(aggregated).toHaveLength(1)
      expect(aggregated[0]).toMatchObject({
        caller_id: caller.id,
        decision: "rejected",
        count: FLOOD - BURST,
        by_tool: { unknown: FLOOD - BURST },
        by_reason: { RateLimited: FLOOD - BURST }
      })
      // Every decision is accounted for: the full lines plus the aggregated count.
      expect(executions.length + (aggregated[0]!["count"] as number)).toBe(FLOOD)
      expect((yield* labelValues).filter((value) => value.startsWith("invented-tool-"))).toEqual([])
    }))

  it.scoped("of malformed input is refused by the client's bucket before it is decoded", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const results = yield* flood(h, caller, () => "NmapTool", (i) => ({ target: 42, nonsense: i, args: "x".repeat(100) }))
      const tags = results.map((r) => (r._tag === "Left" ? r.left._tag : "none"))
      expect(tags.filter((tag) => tag === "InvalidInput")).toHaveLength(BURST)
      expect(tags.filter((tag) => tag === "RateLimited")).toHaveLength(FLOOD - BURST)
      yield* TestClock.adjust(Duration.seconds(60))
      const lines = yield* auditUntil(h, (all) => all.some((line) => line["kind"] === "rejections"))
      expect(lines.find((line) => line["kind"] === "rejections")).toMatchObject({
        count: FLOOD - BURST,
        by_tool: { NmapTool: FLOOD - BURST }
      })
    }))

  it.scoped("of bodies that are not JSON is rate-limited and audited like any malformed input", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const notJson = new MalformedBody(new InvalidInput({ message: "Malformed JSON body", issues: ["Unexpected end of JSON input"] }))
      const results = yield* flood(h, caller, () => "NmapTool", () => notJson)
      const tags = results.map((r) => (r._tag === "Left" ? r.left._tag : "none"))
      expect(tags.filter((tag) => tag === "InvalidInput")).toHaveLength(BURST)
      expect(tags.filter((tag) => tag === "RateLimited")).toHaveLength(FLOOD - BURST)
      expect((yield* h.audit).map((line) => line["error_message"])).toEqual(Array(BURST).fill("Malformed JSON body"))
    }))

  it.scoped("no made-up name becomes a metric label, whatever refuses the call (scope, lookup, rate limit)", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ rate_limit: { enabled: false } })
      const noScopes: Caller = { ...caller, id: "reader", scopes: new Set() }
      yield* flood(h, noScopes, (i) => `made-up-a-${i}`, () => ({ target: "127.0.0.1" }))
      yield* flood(h, caller, (i) => `made-up-b-${i}`, () => ({ target: "127.0.0.1" }))
      expect((yield* labelValues).filter((value) => value.startsWith("made-up-"))).toEqual([])
    }))

  it.scoped("another client's calls are still served and audited in full", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* flood(h, caller, (i) => `invented-${i}`, () => ({ target: "127.0.0.1" }))
      const other: Caller = { ...caller, id: "other" }
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", args: ["-p", "22"] }, other)
      expect(result.error_type).toBeNull()
      expect((yield* h.audit).filter((line) => line["caller_id"] === "other").map((line) => line["outcome"])).toEqual([
        "started",
        "success"
      ])
    }))
})
