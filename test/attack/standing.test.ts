import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Option } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import type { Caller } from "../../src/identity/Caller.js"
import { standingDigest } from "../../src/policy/approval.js"
import { standingSubjectOf } from "../../src/watch/standing.js"
import { alice, bob, root, runNumber, start } from "../watch/harness.js"

/**
 * Attacks by a schedule's owner on the standing approval a second person
 * gave its intrusive runs: the approver approved this schedule at its
 * cadence, so neither switching it off and on (which runs an interval
 * schedule at once) nor a new cadence may run it more often under the same
 * approval. Only the process runner is faked: no packet leaves.
 */

const HOUR = 3600

describe("standing approvals against their schedule's owner", () => {
  it.scopedLive(
    "switching an approved hourly schedule off and on does not run it again before its hour is up",
    () =>
      Effect.gen(function*() {
        const { h, schedules, store } = yield* start
        const created = yield* schedules.create(
          { name: "aggressive", tool: "NmapTool", target: "127.0.0.1", args: ["-A"], interval: HOUR },
          alice
        )
        const id = created.schedule_id
        yield* runNumber(store, id, 1)
        const [standing] = yield* h.approvals.list(root).pipe(Effect.orDie)
        yield* h.approvals.decide(standing!.approval_id, "approved", bob, "hourly aggressive scan of the lab").pipe(Effect.orDie)
        yield* h.database.use(
          "test",
          Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE schedules SET next_run_ms = 0 WHERE id = ${id}`)
        )
          .pipe(Effect.orDie)
        const ran = yield* runNumber(store, id, 2)
        expect(ran.status).toBe("succeeded")
        expect((yield* h.fake.requests).length).toBe(1)

        yield* schedules.setEnabled(id, false, alice)
        const on = yield* schedules.setEnabled(id, true, alice)
        // Before the fix: next_run_at was now, so every off-and-on was one more intrusive run under the approval.
        expect(Date.parse(on.next_run_at)).toBeGreaterThanOrEqual(Date.parse(ran.started_at) + HOUR * 1000)
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "a schedule whose cadence changed (a configured one, edited) is not covered by the approval of the old cadence",
    () =>
      Effect.gen(function*() {
        const { h, schedules, store } = yield* start
        const created = yield* schedules.create(
          { name: "weekly", tool: "NmapTool", target: "127.0.0.1", args: ["-A"], cron: "0 3 * * 1" },
          alice
        )
        const stored = Option.getOrThrow(yield* store.get(created.schedule_id).pipe(Effect.orDie))
        const config = yield* Context.get(h.context as Context.Context<ConfigService>, ConfigService).get
        const need = {
          engagement: config.engagements[0]!,
          intrusive: true,
          intrusiveReasons: ["-A"],
          argv: ["-A", "127.0.0.1"],
          command: ["nmap", "-oX", "-", "-A"],
          timeoutSeconds: 300
        }
        const digest = (spec: Partial<typeof stored.spec>) =>
          standingDigest(standingSubjectOf({ ...stored, spec: { ...stored.spec, ...spec } }, need))
        expect(digest({ cron: "* * * * *" })).not.toBe(digest({}))
        expect(digest({ cron: null, interval: 60 })).not.toBe(digest({}))
        expect(digest({ enabled: false })).toBe(digest({}))
        // A raised tools.NmapTool.timeout lets every run take longer: not what was approved.
        expect(standingDigest(standingSubjectOf(stored, { ...need, timeoutSeconds: 3600 }))).not.toBe(digest({}))
        // tools.NmapTool pointed at another binary, or a template's arguments edited: the same schedule runs something else.
        expect(standingDigest(standingSubjectOf(stored, { ...need, command: ["/tmp/nmap", "-oX", "-", "-A"] }))).not.toBe(digest({}))
        expect(standingDigest(standingSubjectOf(stored, { ...need, command: ["nmap", "-oX", "-", "-A", "-sU"] }))).not.toBe(
          digest({})
        )
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "a key whose schedule scope was taken away cannot switch its schedules back on (an admin switched them off)",
    () =>
      Effect.gen(function*() {
        const { schedules } = yield* start
        const created = yield* schedules.create(
          { name: "nightly", tool: "NmapTool", target: "127.0.0.1", args: ["-sT"], cron: "0 3 * * *" },
          alice
        )
        yield* schedules.setEnabled(created.schedule_id, false, root)
        const narrowed: Caller = { ...alice, scopes: new Set(["execute", "intrusive"]) }
        const refused = yield* Effect.flip(schedules.setEnabled(created.schedule_id, true, narrowed))
        expect(refused._tag).toBe("Forbidden")
        expect((yield* schedules.get(created.schedule_id, root)).enabled).toBe(false)
      }),
    { timeout: 60_000 }
  )
})
