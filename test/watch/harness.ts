import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Layer } from "effect"
import type { Caller } from "../../src/identity/Caller.js"
import { ScheduleStore } from "../../src/storage/ScheduleStore.js"
import { Schedules } from "../../src/watch/Schedules.js"
import { WatchLive } from "../../src/watch/WatchLive.js"
import { makeHarness } from "../execution/support.js"
import { eventually } from "../support/server.js"

/**
 * The scheduler over the real executor and store, with only the process
 * runner faked (no packet leaves): alice owns schedules in the lab
 * engagement, which wants intrusive runs approved; bob approves there.
 */

export const alice: Caller = { id: "alice", transport: "http", scopes: new Set(["execute", "intrusive", "schedule"]), engagements: ["lab"] }

export const bob: Caller = { id: "bob", transport: "http", scopes: new Set(["approve"]), engagements: ["lab"] }
export const aliceApproving: Caller = { ...alice, scopes: new Set([...alice.scopes, "approve" as const]) }
export const root: Caller = { id: "root", transport: "http", scopes: new Set(["admin", "approve"]), engagements: "any" }

export const patch = {
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

export const start = Effect.gen(function*() {
  const h = yield* makeHarness(patch)
  const context = yield* Layer.build(WatchLive.pipe(Layer.provideMerge(Layer.succeedContext(h.context)))) as Effect.Effect<
    Context.Context<Schedules | ScheduleStore>
  >
  return { h, schedules: Context.get(context, Schedules), store: Context.get(context, ScheduleStore) }
})

export const finishedRun = (store: ScheduleStore["Type"], id: string) =>
  Effect.gen(function*() {
    yield* eventually(
      `a finished run of ${id}`,
      Effect.map(store.runs(id, 5).pipe(Effect.orDie), (runs) => runs.some((r) => r.status !== "running")),
      Duration.seconds(20)
    )
    return (yield* store.runs(id, 5).pipe(Effect.orDie))[0]!
  })

/** The `n`th run of the schedule, once it finished. */
export const runNumber = (store: ScheduleStore["Type"], id: string, n: number) =>
  Effect.gen(function*() {
    const runs = store.runs(id, 10).pipe(Effect.orDie)
    yield* eventually(
      `run ${n} of ${id} finished`,
      Effect.map(runs, (all) => all.length >= n && all[0]!.status !== "running"),
      Duration.seconds(20)
    )
    return (yield* runs)[0]!
  })

/** Makes the schedule due now, as if its interval had passed. */
export const makeDue = (h: Effect.Effect.Success<typeof start>["h"], id: string) =>
  h.database.use("test", Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE schedules SET next_run_ms = 0 WHERE id = ${id}`))
    .pipe(Effect.orDie)

/** An intrusive schedule of alice's, its first run skipped, and the standing approval it asked for. */
export const aggressive = Effect.gen(function*() {
  const started = yield* start
  const created = yield* started.schedules.create(
    { name: "aggressive", tool: "NmapTool", target: "127.0.0.1", args: ["-A"], interval: 3600 },
    alice
  )
  const id = created.schedule_id
  yield* runNumber(started.store, id, 1)
  const [standing] = yield* started.h.approvals.list(root).pipe(Effect.orDie)
  return { ...started, id, standing: standing! }
})
