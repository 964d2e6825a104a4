import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Queue, Schema } from "effect"
import { ScheduleSpec } from "../../src/config/watch.js"
import { aggressive, alice, aliceApproving, bob, finishedRun, makeDue, root, runNumber, start } from "./harness.js"

/**
 * The scheduler over the real executor and store, with only the process
 * runner faked (no packet leaves): runs act as their owner and are audited
 * as scheduled runs; a run its engagement wants approved runs only under its
 * schedule's standing approval, decided by another key; a run whose owner key
 * is gone is skipped.
 */

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

  it.scopedLive(
    "a run that needs approval asks once for a standing approval, runs under it once another key approves, and stops when revoked",
    () =>
      Effect.gen(function*() {
        const { h, schedules, store } = yield* start
        const created = yield* schedules.create(
          { name: "aggressive", tool: "NmapTool", target: "127.0.0.1", args: ["-A"], interval: 3600, max_runtime: 60 },
          alice
        )
        const id = created.schedule_id
        // Asked for as the schedule is created: approvers see it before the first run is due.
        const queued = yield* h.approvals.list(root).pipe(Effect.orDie)
        expect(queued).toHaveLength(1)
        const standing = queued[0]!
        expect(standing).toMatchObject({
          kind: "standing",
          schedule_id: id,
          status: "pending",
          requested_by: "alice",
          engagement: "lab",
          intrusive: true,
          argv: expect.arrayContaining(["-A", "127.0.0.1"])
        })
        const first = yield* runNumber(store, id, 1)
        expect(first.status).toBe("skipped")
        expect(first.reason).toContain(`standing approval ${standing.approval_id} is pending`)
        expect(yield* h.fake.requests).toEqual([])

        // The owner's key, even given the approve scope, cannot approve its own schedule's request.
        const own = yield* Effect.flip(h.approvals.decide(standing.approval_id, "approved", aliceApproving, "mine"))
        expect(own._tag).toBe("Forbidden")

        yield* makeDue(h, id)
        const waiting = yield* runNumber(store, id, 2)
        expect(waiting.status).toBe("skipped")
        expect(waiting.reason).toContain(`standing approval ${standing.approval_id} is pending`)
        expect(yield* h.approvals.list(root).pipe(Effect.orDie)).toHaveLength(1)

        yield* h.approvals.decide(standing.approval_id, "approved", bob, "weekly aggressive scan of the lab").pipe(Effect.orDie)
        yield* makeDue(h, id)
        const ran = yield* runNumber(store, id, 3)
        expect(ran).toMatchObject({ status: "succeeded", reason: null })
        expect((yield* h.fake.requests).length).toBe(1)
        const line = (yield* h.audit).find((l) => l["correlation_id"] === `schedule.${id}.${ran.run_id}` && l["decision"] === "allowed")
        expect(line).toMatchObject({ caller_id: "alice", approval_id: standing.approval_id, decided_by: "bob" })
        const record = yield* h.store.get(ran.scan_id!, { callerId: "alice", admin: false })
        expect(record.notes).toContain(`scheduled run under standing approval ${standing.approval_id} (approved by bob)`)

        // A manual call cannot borrow the standing approval.
        const borrowed = yield* Effect.flip(
          h.executor.execute("NmapTool", { target: "127.0.0.1", args: ["-A"], approval_id: standing.approval_id }, alice)
        )
        expect(borrowed).toMatchObject({ _tag: "ApprovalRefused", rule: "standing" })

        const revoked = yield* h.approvals.revoke(standing.approval_id, bob, "window closed").pipe(Effect.orDie)
        expect(revoked).toMatchObject({ status: "revoked", revoked_by: "bob" })
        yield* makeDue(h, id)
        const stopped = yield* runNumber(store, id, 4)
        expect(stopped.status).toBe("skipped")
        expect(stopped.reason).toContain(`standing approval ${standing.approval_id} was revoked by bob`)
        expect((yield* h.fake.requests).length).toBe(1)
      }),
    { timeout: 90_000 }
  )

  it.scopedLive(
    "a denial stands until the owner disables and enables the schedule (audited), which asks again",
    () =>
      Effect.gen(function*() {
        const { h, id, schedules, standing, store } = yield* aggressive
        yield* h.approvals.decide(standing.approval_id, "denied", bob, "not this week").pipe(Effect.orDie)
        yield* makeDue(h, id)
        const denied = yield* runNumber(store, id, 2)
        expect(denied.reason).toContain(`standing approval ${standing.approval_id} was denied by bob: not this week`)
        expect(yield* h.approvals.list(root).pipe(Effect.orDie)).toHaveLength(1)

        const off = yield* schedules.setEnabled(id, false, alice)
        expect(off.enabled).toBe(false)
        const on = yield* schedules.setEnabled(id, true, alice)
        expect(on.enabled).toBe(true)
        const asked = yield* runNumber(store, id, 3)
        expect(asked.reason).toContain("is pending")
        const all = yield* h.approvals.list(root, undefined, "standing").pipe(Effect.orDie)
        expect(all.map((a) => a.status)).toEqual(["pending", "denied"])
        const switched = (yield* h.audit).filter((l) => l["correlation_id"] === `schedule.${id}` && l["caller_id"] === "alice")
        expect(switched.map((l) => [l["decision"], l["outcome"]])).toEqual([
          ["approval:requested", "pending"],
          ["schedule:disabled", "disabled"],
          ["schedule:enabled", "enabled"],
          ["approval:requested", "pending"]
        ])
        expect(yield* h.fake.requests).toEqual([])
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "a changed schedule is not covered by its old standing approval: the run is skipped and a new one requested",
    () =>
      Effect.gen(function*() {
        const { h, id, standing, store } = yield* aggressive
        yield* h.approvals.decide(standing.approval_id, "approved", bob, "ok").pipe(Effect.orDie)
        const stored = Option.getOrThrow(yield* store.get(id).pipe(Effect.orDie))
        const changedSpec = Schema.encodeSync(Schema.parseJson(ScheduleSpec))({ ...stored.spec, args: ["-A", "-p", "1-65535"] })
        yield* h.database.use(
          "test",
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE schedules SET spec = ${changedSpec}, next_run_ms = 0 WHERE id = ${id}`)
        ).pipe(Effect.orDie)
        const run = yield* runNumber(store, id, 2)
        expect(run.status).toBe("skipped")
        expect(run.reason).toContain(
          `the schedule, or how its tool is configured (binary, fixed arguments, template, timeout), changed since standing approval ${standing.approval_id}`
        )
        expect(yield* h.fake.requests).toEqual([])
        const all = yield* h.approvals.list(root).pipe(Effect.orDie)
        expect(all.map((a) => a.status)).toEqual(["pending", "approved"])
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "a run in progress stops when its standing approval is revoked, here at once and within the poll through another instance",
    () =>
      Effect.gen(function*() {
        const { h, id, schedules, standing, store } = yield* aggressive
        yield* h.approvals.decide(standing.approval_id, "approved", bob, "lab scan").pipe(Effect.orDie)
        yield* h.fake.behave({ _tag: "Hang" })
        /** A revoke stands until the owner disables and enables the schedule, whose next run (`n`) asks again. */
        const approveAgain = (n: number) =>
          Effect.gen(function*() {
            yield* schedules.setEnabled(id, false, alice)
            yield* schedules.setEnabled(id, true, alice)
            yield* makeDue(h, id)
            yield* runNumber(store, id, n)
            const [asked] = yield* h.approvals.list(root, "pending", "standing").pipe(Effect.orDie)
            yield* h.approvals.decide(asked!.approval_id, "approved", bob, "lab scan again").pipe(Effect.orDie)
            return asked!.approval_id
          })
        const runUntilStopped = (n: number, revoke: Effect.Effect<unknown>) =>
          Effect.gen(function*() {
            yield* makeDue(h, id)
            yield* Queue.take(h.fake.started)
            yield* revoke
            yield* Queue.take(h.fake.interrupted)
            return yield* runNumber(store, id, n)
          })

        const here = yield* runUntilStopped(2, h.approvals.revoke(standing.approval_id, bob, "stop now").pipe(Effect.orDie))
        expect(here).toMatchObject({ status: "failed", scan_id: null })
        expect(here.reason).toBe(`stopped: standing approval ${standing.approval_id} was revoked by bob during the run`)
        const line = (yield* h.audit).find((l) => l["correlation_id"] === `schedule.${id}.${here.run_id}` && l["outcome"] !== "started")
        expect(line).toMatchObject({ outcome: "cancelled", approval_id: standing.approval_id })

        // Another instance's revoke reaches this one only through the table (no event here): the poll sees it.
        const next = yield* approveAgain(3)
        const there = yield* runUntilStopped(
          4,
          h.database.use(
            "test",
            Effect.flatMap(SqlClient.SqlClient, (sql) =>
              sql`UPDATE approvals SET status = 'revoked', revoked_by = 'root', revoked_ms = 1 WHERE id = ${next}`)
          ).pipe(Effect.orDie)
        )
        expect(there.reason).toBe(`stopped: standing approval ${next} was revoked by root during the run`)
      }),
    { timeout: 90_000 }
  )

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
      }, 10)
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
