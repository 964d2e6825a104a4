import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { ScheduleSpec } from "../../src/config/watch.js"
import { Database } from "../../src/storage/Database.js"
import { type ClaimOptions, ScheduleStore } from "../../src/storage/ScheduleStore.js"
import { makeUlidGenerator } from "../../src/storage/ulid.js"
import { storageLayer, testConfig, testDatabases } from "../storage/support.js"

/**
 * The schedule store on both databases: a due run goes to exactly one
 * claimer however many claim at once; runs missed while nobody ran are one
 * run; a lease that expires means a dead instance, whose run is marked
 * interrupted and retried once, never twice.
 */

const MINUTE = 60_000
const T0 = 1_800_000_000_000
const spec = Schema.decodeUnknownSync(ScheduleSpec)({ name: "s", tool: "NmapTool", target: "127.0.0.1", interval: 60 })

const open = (db: Parameters<typeof testConfig>[0]) =>
  Effect.gen(function*() {
    const config = yield* testConfig(db)
    const context = yield* Layer.build(storageLayer(config.layer))
    yield* Context.get(context, Database).ready
    return { store: Context.get(context, ScheduleStore), newId: yield* makeUlidGenerator }
  })

const claimAs = (instanceId: string, now: number, newId: Effect.Effect<string>): ClaimOptions => ({
  instanceId,
  now,
  leaseMs: 30_000,
  limit: 10,
  newId,
  nextRun: (_schedule, at) => Effect.succeed(at + MINUTE)
})

for (const { name, make } of testDatabases) {
  describe(`the schedule store on ${name}`, () => {
    it.scoped(
      "a due run goes to exactly one of several instances claiming at once; runs missed while down are one run",
      () =>
        Effect.gen(function*() {
          const db = yield* make
          const { newId, store } = yield* open(db)
          // Due ten intervals ago: nobody ran it meanwhile.
          yield* store.insert({ id: "sched-1", name: "s", owner: "k", source: "api", spec, specHash: "h", nowMs: T0, nextRunMs: T0 }, 10)
          const now = T0 + 10 * MINUTE
          const claims = yield* Effect.all(
            ["a", "b", "c", "d"].map((instance) => store.claim(claimAs(instance, now, newId))),
            { concurrency: "unbounded" }
          )
          expect(claims.flat().length).toBe(1)
          const [claim] = claims.flat()
          expect(claim).toMatchObject({ attempt: 1, dueMs: T0, retryOf: null })
          // The next run is after now, not the ten missed slots: no burst.
          const stored = Option.getOrThrow(yield* store.get("sched-1"))
          expect(stored.nextRunMs).toBe(now + MINUTE)
          expect(yield* store.claim(claimAs("e", now + 1, newId))).toEqual([])
          yield* store.finish("sched-1", claim!.runId, stored.leaseInstance!, {
            status: "succeeded",
            finishedMs: now + 5,
            scanId: "scan-1",
            reason: null,
            changes: null,
            baseline: { scanId: "scan-1", specHash: "h" },
            retry: false
          })
          const finished = Option.getOrThrow(yield* store.get("sched-1"))
          expect(finished).toMatchObject({ leaseInstance: null, currentRun: null, lastScanId: "scan-1" })
          expect((yield* store.runs("sched-1", 5)).map((r) => r.status)).toEqual(["succeeded"])
        }),
      { timeout: 30_000 }
    )

    it.scoped(
      "an expired lease: the run is interrupted and retried once by another instance, not a second time",
      () =>
        Effect.gen(function*() {
          const db = yield* make
          const { newId, store } = yield* open(db)
          yield* store.insert({ id: "sched-2", name: "s", owner: "k", source: "api", spec, specHash: "h", nowMs: T0, nextRunMs: T0 }, 10)
          const [first] = yield* store.claim(claimAs("a", T0, newId))
          // "a" died: its lease is not renewed. Before expiry nobody takes over.
          expect(yield* store.claim(claimAs("b", T0 + 29_000, newId))).toEqual([])
          const [retry] = yield* store.claim(claimAs("b", T0 + 31_000, newId))
          expect(retry).toMatchObject({ attempt: 2, retryOf: first!.runId, dueMs: T0 })
          // "a" comes back from a pause: its lease is gone, it cannot renew or finish the run.
          expect(yield* store.renew("sched-2", first!.runId, "a", T0 + 60_000)).toBe(false)
          // "b" dies too: the retry is interrupted and not retried again; the schedule's next slot (T0 + 1 min) is a new run.
          const [next] = yield* store.claim(claimAs("c", T0 + 62_000, newId))
          expect(next).toMatchObject({ attempt: 1, retryOf: null, dueMs: T0 + MINUTE })
          const runs = yield* store.runs("sched-2", 5)
          expect(runs.map((r) => [r.attempt, r.status, r.instance_id])).toEqual([
            [1, "running", "c"],
            [2, "interrupted", "b"],
            [1, "interrupted", "a"]
          ])
        }),
      { timeout: 30_000 }
    )

    it.scoped(
      "creates at once from two instances: one name is one schedule, the quota holds, two syncs of one config both succeed",
      () =>
        Effect.gen(function*() {
          const db = yield* make
          const first = yield* open(db)
          const second = yield* open(db)
          // Connections open first, so that the two transactions really overlap instead of one waiting for a new connection.
          yield* Effect.all([first.store.list(), first.store.list(), second.store.list(), second.store.list()], {
            concurrency: "unbounded"
          })
          const row = (id: string, name: string) => ({
            id,
            name,
            owner: "k",
            source: "api" as const,
            spec,
            specHash: "h",
            nowMs: T0,
            nextRunMs: T0
          })
          const named = yield* Effect.all([first.store.insert(row("a-1", "same"), 10), second.store.insert(row("b-1", "same"), 10)], {
            concurrency: 2
          })
          expect(named.map((o) => o._tag).sort()).toEqual(["Inserted", "NameTaken"])
          const quota = yield* Effect.all([first.store.insert(row("a-2", "two"), 2), second.store.insert(row("b-2", "three"), 2)], {
            concurrency: 2
          })
          expect(quota.map((o) => o._tag).sort()).toEqual(["Full", "Inserted"])
          expect(yield* first.store.list("k")).toHaveLength(2)

          const configured = {
            id: "config.c",
            name: "c",
            owner: "operator",
            source: "config" as const,
            spec,
            specHash: "h",
            nowMs: T0,
            nextRunMs: T0
          }
          yield* Effect.all([first.store.syncConfigured([configured]), second.store.syncConfigured([configured])], { concurrency: 2 })
          expect(Option.isSome(yield* first.store.get("config.c"))).toBe(true)
        }),
      { timeout: 30_000 }
    )

    it.scoped(
      "config schedules follow the configuration: added, rescheduled when changed, removed when gone",
      () =>
        Effect.gen(function*() {
          const db = yield* make
          const { newId, store } = yield* open(db)
          const row = {
            id: "config.s",
            name: "s",
            owner: "operator",
            source: "config" as const,
            spec,
            specHash: "h1",
            nowMs: T0,
            nextRunMs: T0
          }
          yield* store.syncConfigured([row])
          yield* store.syncConfigured([{ ...row, nextRunMs: T0 + 5 }])
          expect(Option.getOrThrow(yield* store.get("config.s")).nextRunMs).toBe(T0)
          yield* store.syncConfigured([{ ...row, specHash: "h2", nextRunMs: T0 + 5 }])
          expect(Option.getOrThrow(yield* store.get("config.s")).nextRunMs).toBe(T0 + 5)
          // A reload changes the spec while a run of the old one is under way: its scan is no baseline for the new one.
          const [claim] = yield* store.claim(claimAs("a", T0 + 10, newId))
          yield* store.syncConfigured([{ ...row, specHash: "h3", nextRunMs: T0 + 20 }])
          const end = { status: "succeeded" as const, finishedMs: T0 + 30, scanId: "old-spec-scan", reason: null, changes: null }
          yield* store.finish("config.s", claim!.runId, "a", {
            ...end,
            baseline: { scanId: "old-spec-scan", specHash: "h2" },
            retry: false
          })
          expect(Option.getOrThrow(yield* store.get("config.s")).lastScanId).toBeNull()
          const [next] = yield* store.claim(claimAs("a", T0 + 40, newId))
          yield* store.finish("config.s", next!.runId, "a", {
            ...end,
            scanId: "new",
            baseline: { scanId: "new", specHash: "h3" },
            retry: false
          })
          expect(Option.getOrThrow(yield* store.get("config.s")).lastScanId).toBe("new")
          // A key's API schedule of the same owner and name was there first: that entry is left out, the others sync.
          yield* store.insert({ ...row, id: "api-dup", name: "dup", source: "api" }, 10)
          const dup = { ...row, id: "config.dup", name: "dup", spec: { ...spec, name: "dup" } }
          expect(yield* store.syncConfigured([row, dup])).toEqual([{ name: "dup", owner: "operator", scheduleId: "api-dup" }])
          expect(Option.isSome(yield* store.get("config.s"))).toBe(true)
          expect(Option.isNone(yield* store.get("config.dup"))).toBe(true)
          yield* store.syncConfigured([])
          expect(Option.isNone(yield* store.get("config.s"))).toBe(true)
        }),
      { timeout: 30_000 }
    )
  })
}
