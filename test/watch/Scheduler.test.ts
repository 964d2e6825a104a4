import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { ScheduleSpec } from "../../src/config/watch.js"
import type { Caller } from "../../src/identity/Caller.js"
import { ScheduleStore } from "../../src/storage/ScheduleStore.js"
import { Schedules } from "../../src/watch/Schedules.js"
import { WatchLive } from "../../src/watch/WatchLive.js"
import { makeHarness } from "../execution/support.js"
import { eventually } from "../support/server.js"

/**
 * The scheduler over the real executor and store, with only the process
 * runner faked (no packet leaves): runs act as their owner and are audited
 * as scheduled runs; a run its engagement wants approved is skipped with the
 * reason and asks nobody; a run whose owner key is gone is skipped.
 */

const alice: Caller = { id: "alice", transport: "http", scopes: new Set(["execute", "intrusive", "schedule"]), engagements: ["lab"] }

const patch = {
  security: { allow_intrusive: true },
  auth: {
    api_keys: [{ id: "alice", sha256: "a".repeat(64), scopes: ["execute", "intrusive", "schedule"] as const, engagements: ["lab"] }]
  },
  engagements: [{
    name: "lab",
    targets: ["127.0.0.0/8"] as const,
    tiers: ["passive", "safe", "intrusive"] as const,
    approval: "intrusive" as const
  }],
  watch: { poll_interval: 0.05, min_interval: 1 }
}

const start = Effect.gen(function*() {
  const h = yield* makeHarness(patch)
  const context = yield* Layer.build(WatchLive.pipe(Layer.provideMerge(Layer.succeedContext(h.context)))) as Effect.Effect<
    Context.Context<Schedules | ScheduleStore>
  >
  return { h, schedules: Context.get(context, Schedules), store: Context.get(context, ScheduleStore) }
})

const finishedRun = (store: ScheduleStore["Type"], id: string) =>
  Effect.gen(function*() {
    yield* eventually(
      `a finished run of ${id}`,
      Effect.map(store.runs(id, 5).pipe(Effect.orDie), (runs) => runs.some((r) => r.status !== "running")),
      Duration.seconds(20)
    )
    return (yield* store.runs(id, 5).pipe(Effect.orDie))[0]!
  })

describe("the scheduler", () => {
  it.scopedLive(
    "runs a schedule as its owner through the executor, audited as a scheduled run, and stores the scan",
    () =>
      Effect.gen(function*() {
        const { h, schedules, store } = yield* start
        const created = yield* schedules.create(
          { name: "ports", tool: "NmapTool", target: "127.0.0.1", args: ["-sT", "-p", "22"], interval: 3600 },
          alice
        )
        const run = yield* finishedRun(store, created.schedule_id)
        expect(run).toMatchObject({ status: "succeeded", attempt: 1, reason: null })
        expect(run.scan_id).not.toBeNull()
        const requests = yield* h.fake.requests
        expect(requests.length).toBe(1)
        const line = (yield* h.audit).find((l) => l["correlation_id"] === `schedule.${created.schedule_id}.${run.run_id}`)
        expect(line).toMatchObject({ caller_id: "alice", tool: "NmapTool", engagement: "lab" })
        const record = yield* h.store.get(run.scan_id!, { callerId: "alice", admin: false })
        expect(record.caller_id).toBe("alice")
      }),
    { timeout: 60_000 }
  )

  it.scopedLive("skips a run its engagement wants approved, says why, and asks no approver", () =>
    Effect.gen(function*() {
      const { h, schedules, store } = yield* start
      const created = yield* schedules.create(
        { name: "aggressive", tool: "NmapTool", target: "127.0.0.1", args: ["-A"], interval: 3600 },
        alice
      )
      const run = yield* finishedRun(store, created.schedule_id)
      expect(run.status).toBe("skipped")
      expect(run.reason).toContain("engagement lab requires a second person's approval")
      expect(run.reason).toContain("no standing approval")
      expect(yield* h.fake.requests).toEqual([])
      const admin: Caller = { id: "root", transport: "http", scopes: new Set(["admin", "approve"]), engagements: "any" }
      expect(yield* h.approvals.list(admin).pipe(Effect.orDie)).toEqual([])
    }), { timeout: 60_000 })

  it.scopedLive("skips the runs of a schedule whose owner key is no longer configured", () =>
    Effect.gen(function*() {
      const { h, store } = yield* start
      const spec = Schema.decodeUnknownSync(ScheduleSpec)({ name: "orphan", tool: "NmapTool", target: "127.0.0.1", interval: 3600 })
      yield* store.insert({
        id: "orphan",
        name: "orphan",
        owner: "bob",
        source: "api",
        spec,
        specHash: "h",
        nowMs: Date.now(),
        nextRunMs: 0
      })
        .pipe(Effect.orDie)
      const run = yield* finishedRun(store, "orphan")
      expect(run.status).toBe("skipped")
      expect(run.reason).toBe("skipped: its owner, API key bob, is no longer configured (auth.api_keys)")
      expect(yield* h.fake.requests).toEqual([])
    }), { timeout: 60_000 })

  it.scopedLive("refuses schedules that cannot run, and names every problem", () =>
    Effect.gen(function*() {
      const { schedules } = yield* start
      const error = yield* Effect.flip(
        schedules.create({ name: "bad", tool: "NoSuchTool", target: "127.0.0.1", cron: "* * *", webhooks: ["nope"] }, alice)
      )
      expect(error._tag).toBe("ScheduleInvalid")
      expect(error._tag === "ScheduleInvalid" && error.issues).toEqual([
        expect.stringContaining("has 3 fields; give five"),
        expect.stringContaining("tool: no tool named NoSuchTool"),
        "webhooks: no webhook named nope in watch.webhooks (none are configured)"
      ])
      const extra = yield* Effect.flip(schedules.create({ name: "x", tool: "NmapTool", target: "t", interval: 60, url: "http://x" }, alice))
      expect(extra._tag).toBe("ScheduleInvalid")
      expect(extra.message).toContain("url")
    }), { timeout: 60_000 })
})
