import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Context, Effect, Layer, Option, type ParseResult, Schema } from "effect"
import { ScheduleSpec } from "../config/watch.js"
import { CONFIG_SCHEDULES, SCHEDULE_OWNERS, xactLock } from "./advisoryLocks.js"
import { Database } from "./Database.js"
import type { StoreUnavailable } from "./errors.js"
import { type DeadLetter, type RunStatus, ScheduleRun, ScheduleSource } from "./ScheduleRecord.js"

/**
 * Schedules, their runs and webhook dead letters in the shared database.
 * Claiming due runs is one transaction: on PostgreSQL the due rows are
 * locked with `FOR UPDATE SKIP LOCKED`, so of several instances polling at
 * once each row goes to exactly one; the claimer holds the schedule's lease
 * until the run ends, renewing it while it runs. A lease that expired means
 * its instance died: the next claimer marks that run interrupted and retries
 * it once. SQLite has one writer, so the same statements are exact there too.
 */

const DbNumber = Schema.Union(Schema.Number, Schema.NumberFromString)
const SpecJson = Schema.parseJson(ScheduleSpec)

const ScheduleRow = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  owner: Schema.String,
  source: ScheduleSource,
  spec: SpecJson,
  spec_hash: Schema.String,
  enabled: DbNumber,
  created_ms: DbNumber,
  updated_ms: DbNumber,
  next_run_ms: DbNumber,
  lease_instance: Schema.NullOr(Schema.String),
  lease_expires_ms: Schema.NullOr(DbNumber),
  current_run: Schema.NullOr(Schema.String),
  last_scan_id: Schema.NullOr(Schema.String)
})
const SCHEDULE_COLUMNS = Object.keys(ScheduleRow.fields).join(", ")
const decodeSchedule = Schema.decodeUnknown(ScheduleRow)
const encodeSpec = Schema.encodeSync(SpecJson)

const RunRow = Schema.Struct({
  id: Schema.String,
  schedule_id: Schema.String,
  attempt: DbNumber,
  due_ms: DbNumber,
  started_ms: DbNumber,
  finished_ms: Schema.NullOr(DbNumber),
  instance_id: Schema.String,
  status: Schema.Literal("running", "succeeded", "failed", "skipped", "interrupted"),
  scan_id: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  changes: Schema.NullOr(DbNumber)
})
const RUN_COLUMNS = Object.keys(RunRow.fields).join(", ")
const decodeRun = Schema.decodeUnknown(RunRow)

export interface StoredSchedule {
  readonly id: string
  readonly name: string
  readonly owner: string
  readonly source: typeof ScheduleSource.Type
  readonly spec: ScheduleSpec
  readonly specHash: string
  readonly createdMs: number
  /** When it was last changed (created, its spec replaced, enabled or disabled). */
  readonly updatedMs: number
  readonly nextRunMs: number
  readonly leaseInstance: string | null
  readonly leaseExpiresMs: number | null
  readonly currentRun: string | null
  readonly lastScanId: string | null
}

const toStored = (row: typeof ScheduleRow.Type): StoredSchedule => ({
  id: row.id,
  name: row.name,
  owner: row.owner,
  source: row.source,
  spec: row.spec,
  specHash: row.spec_hash,
  createdMs: row.created_ms,
  updatedMs: row.updated_ms,
  nextRunMs: row.next_run_ms,
  leaseInstance: row.lease_instance,
  leaseExpiresMs: row.lease_expires_ms,
  currentRun: row.current_run,
  lastScanId: row.last_scan_id
})

const iso = (ms: number) => new Date(ms).toISOString()

const toRun = (row: typeof RunRow.Type): ScheduleRun => ({
  run_id: row.id,
  schedule_id: row.schedule_id,
  attempt: row.attempt,
  due_at: iso(row.due_ms),
  started_at: iso(row.started_ms),
  finished_at: row.finished_ms === null ? null : iso(row.finished_ms),
  instance_id: row.instance_id,
  status: row.status,
  scan_id: row.scan_id,
  reason: row.reason,
  changes: row.changes
})

/** A schedule as written by `insert` and `syncConfigured`. */
export interface NewSchedule {
  readonly id: string
  readonly name: string
  readonly owner: string
  readonly source: typeof ScheduleSource.Type
  readonly spec: ScheduleSpec
  readonly specHash: string
  readonly nowMs: number
  readonly nextRunMs: number
}

/** One run this instance now holds the lease of. */
export interface Claim {
  readonly schedule: StoredSchedule
  readonly runId: string
  readonly attempt: number
  readonly dueMs: number
  /** The run of a dead instance this claim retries, if it is a retry. */
  readonly retryOf: string | null
}

export interface ClaimOptions {
  readonly instanceId: string
  readonly now: number
  readonly leaseMs: number
  readonly limit: number
  readonly newId: Effect.Effect<string>
  /** When the schedule runs after a run due now (pure but for jitter). */
  readonly nextRun: (schedule: StoredSchedule, now: number) => Effect.Effect<number>
}

export interface RunEnd {
  readonly status: Exclude<RunStatus, "running">
  readonly finishedMs: number
  readonly scanId: string | null
  readonly reason: string | null
  readonly changes: number | null
  /**
   * The scan the next run is compared with, when this one produced a comparable result, and the spec hash it ran
   * with: a spec that changed meanwhile (a config reload during the run) keeps the baseline the change cleared.
   */
  readonly baseline: { readonly scanId: string; readonly specHash: string } | null
  /** Leave the lease expired instead of released, so the next claimer retries the run (a graceful stop). */
  readonly retry: boolean
}

export interface NewDeadLetter {
  readonly id: string
  readonly webhook: string
  readonly scheduleId: string
  readonly runId: string
  readonly payload: string
  readonly attempts: number
  readonly lastError: string
  readonly nowMs: number
}

type Store<A> = Effect.Effect<A, StoreUnavailable>

/** A configured schedule whose owner already has one of its name (`scheduleId`). */
export interface NameTaken {
  readonly name: string
  readonly owner: string
  readonly scheduleId: string
}

/** What an insert did: stored it, or not, because its owner has a schedule of that name or as many as it may have. */
export type InsertOutcome =
  | { readonly _tag: "Inserted" }
  | { readonly _tag: "NameTaken"; readonly scheduleId: string }
  | { readonly _tag: "Full"; readonly owned: number }

export interface ScheduleStoreService {
  /** Inserts the schedule unless its owner has one of that name or `maxOwned` of them: one check and insert at a time per owner. */
  readonly insert: (schedule: NewSchedule, maxOwned: number) => Store<InsertOutcome>
  readonly list: (owner?: string) => Store<ReadonlyArray<StoredSchedule>>
  readonly get: (id: string) => Store<Option.Option<StoredSchedule>>
  readonly remove: (id: string) => Store<boolean>
  /**
   * Makes the `config` schedules exactly `schedules`: new ones added, changed specs rescheduled, removed ones deleted.
   * Returns those left out because their owner has a schedule of the same name made through the API.
   */
  readonly syncConfigured: (schedules: ReadonlyArray<NewSchedule>) => Store<ReadonlyArray<NameTaken>>
  readonly claim: (options: ClaimOptions) => Store<ReadonlyArray<Claim>>
  /** Extends the lease; false when the lease is no longer this instance's. */
  readonly renew: (scheduleId: string, runId: string, instanceId: string, expiresMs: number) => Store<boolean>
  readonly finish: (scheduleId: string, runId: string, instanceId: string, end: RunEnd) => Store<void>
  readonly runs: (scheduleId: string, limit: number) => Store<ReadonlyArray<ScheduleRun>>
  /** SQLite: leases of other instances are void (one process per store file). */
  readonly expireOthers: (instanceId: string) => Store<void>
  readonly deadLetter: (letter: NewDeadLetter) => Store<void>
  /** The newest dead letters, `limit` of them, older than `before` (a dead letter's id) when given. */
  readonly deadLetters: (limit: number, before?: string) => Store<ReadonlyArray<DeadLetter>>
  readonly getDeadLetter: (id: string) => Store<Option.Option<DeadLetter>>
  readonly removeDeadLetter: (id: string) => Store<boolean>
  /** One more failed attempt of a dead letter's delivery. */
  readonly failedAgain: (id: string, lastError: string) => Store<void>
  /** Enables or disables the schedule (its spec and row alike), as changed at `nowMs`; false when there is none. */
  readonly setEnabled: (id: string, enabled: boolean, nowMs: number, nextRunMs: number) => Store<boolean>
}

const selectSchedules = (where: (sql: SqlClient.SqlClient) => any) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT ${sql.literal(SCHEDULE_COLUMNS)} FROM schedules WHERE ${where(sql)} ORDER BY id`
    return yield* Effect.forEach(rows, (row) => Effect.map(decodeSchedule(row), toStored))
  })

const insertRow = (s: NewSchedule) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`INSERT INTO schedules ${
      sql.insert({
        id: s.id,
        name: s.name,
        owner: s.owner,
        source: s.source,
        spec: encodeSpec(s.spec),
        spec_hash: s.specHash,
        enabled: s.spec.enabled ? 1 : 0,
        created_ms: s.nowMs,
        updated_ms: s.nowMs,
        next_run_ms: s.nextRunMs,
        lease_instance: null,
        lease_expires_ms: null,
        current_run: null,
        last_scan_id: null
      })
    }`)

const insertChecked = (s: NewSchedule, maxOwned: number) =>
  Effect.gen(function*() {
    yield* xactLock(SCHEDULE_OWNERS, s.owner)
    const owned = yield* selectSchedules((sql) => sql`owner = ${s.owner}`)
    const same = owned.find((o) => o.name === s.name)
    if (same !== undefined) return { _tag: "NameTaken", scheduleId: same.id } satisfies InsertOutcome
    if (owned.length >= maxOwned) return { _tag: "Full", owned: owned.length } satisfies InsertOutcome
    yield* insertRow(s)
    return { _tag: "Inserted" } satisfies InsertOutcome
  })

// Instances starting together, or reloading one shared config, take turns: the later ones find the rows in place.
const sync = (schedules: ReadonlyArray<NewSchedule>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* xactLock(CONFIG_SCHEDULES, "config")
    const existing = yield* selectSchedules((sql) => sql`source = 'config'`)
    const wanted = new Map(schedules.map((s) => [s.id, s]))
    for (const old of existing) {
      if (!wanted.has(old.id)) yield* sql`DELETE FROM schedules WHERE id = ${old.id}`
    }
    const taken: Array<NameTaken> = []
    for (const s of schedules) {
      const old = existing.find((e) => e.id === s.id)
      if (old !== undefined && old.specHash === s.specHash && old.owner === s.owner) continue
      // One schedule of a name per owner: an API schedule there first keeps it, and one bad entry fails no other.
      yield* xactLock(SCHEDULE_OWNERS, s.owner)
      const [other] = yield* sql<{ id: string }>`SELECT id FROM schedules WHERE owner = ${s.owner} AND name = ${s.name} AND id <> ${s.id}`
      if (other !== undefined) {
        taken.push({ name: s.name, owner: s.owner, scheduleId: other.id })
        if (old !== undefined) yield* sql`DELETE FROM schedules WHERE id = ${s.id}`
      } else if (old === undefined) {
        yield* insertRow(s)
      } else {
        yield* sql`UPDATE schedules SET spec = ${encodeSpec(s.spec)}, spec_hash = ${s.specHash}, owner = ${s.owner},
          enabled = ${s.spec.enabled ? 1 : 0}, updated_ms = ${s.nowMs}, next_run_ms = ${s.nextRunMs}, last_scan_id = NULL
          WHERE id = ${s.id}`
      }
    }
    return taken
  })

const INTERRUPTED = "The instance running it stopped or died before it ended (its lease expired)."

const claimOne = (candidate: StoredSchedule, o: ClaimOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    let retry: { readonly of: string; readonly attempt: number; readonly dueMs: number } | undefined
    if (candidate.leaseInstance !== null && candidate.currentRun !== null) {
      yield* sql`UPDATE schedule_runs SET status = 'interrupted', finished_ms = ${o.now}, reason = ${INTERRUPTED}
        WHERE id = ${candidate.currentRun} AND status = 'running'`
      const [row] = yield* sql`SELECT ${sql.literal(RUN_COLUMNS)} FROM schedule_runs WHERE id = ${candidate.currentRun}`
      const run = row === undefined ? undefined : yield* decodeRun(row)
      if (run !== undefined && run.status === "interrupted" && run.attempt < 2) {
        retry = { of: run.id, attempt: run.attempt + 1, dueMs: run.due_ms }
      }
    }
    const dueNow = candidate.spec.enabled && candidate.nextRunMs <= o.now
    if (retry === undefined && !dueNow) {
      yield* sql`UPDATE schedules SET lease_instance = NULL, lease_expires_ms = NULL, current_run = NULL WHERE id = ${candidate.id}`
      return Option.none<Claim>()
    }
    const runId = yield* o.newId
    // A retry keeps the schedule's next run; a due run moves it past now, so runs missed while down collapse into this one.
    const next = retry === undefined ? yield* o.nextRun(candidate, o.now) : candidate.nextRunMs
    const dueMs = retry?.dueMs ?? candidate.nextRunMs
    const attempt = retry?.attempt ?? 1
    yield* sql`UPDATE schedules SET lease_instance = ${o.instanceId}, lease_expires_ms = ${o.now + o.leaseMs},
      current_run = ${runId}, next_run_ms = ${next} WHERE id = ${candidate.id}`
    yield* sql`INSERT INTO schedule_runs ${
      sql.insert({
        id: runId,
        schedule_id: candidate.id,
        attempt,
        due_ms: dueMs,
        started_ms: o.now,
        finished_ms: null,
        instance_id: o.instanceId,
        status: "running",
        scan_id: null,
        reason: null,
        changes: null
      })
    }`
    return Option.some<Claim>({ schedule: { ...candidate, nextRunMs: next }, runId, attempt, dueMs, retryOf: retry?.of ?? null })
  })

const claim = (o: ClaimOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const lock = sql.onDialectOrElse({ pg: () => "FOR UPDATE SKIP LOCKED", orElse: () => "" })
    const rows = yield* sql`SELECT ${sql.literal(SCHEDULE_COLUMNS)} FROM schedules
      WHERE (enabled = 1 AND lease_instance IS NULL AND next_run_ms <= ${o.now})
         OR (lease_instance IS NOT NULL AND lease_expires_ms <= ${o.now})
      ORDER BY next_run_ms LIMIT ${o.limit} ${sql.literal(lock)}`
    const candidates = yield* Effect.forEach(rows, (row) => Effect.map(decodeSchedule(row), toStored))
    const claims = yield* Effect.forEach(candidates, (c) => claimOne(c, o))
    return claims.flatMap(Option.toArray)
  }).pipe((effect) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(effect)))

const finish = (scheduleId: string, runId: string, instanceId: string, end: RunEnd) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.gen(function*() {
      yield* sql`UPDATE schedule_runs SET status = ${end.status}, finished_ms = ${end.finishedMs}, scan_id = ${end.scanId},
        reason = ${end.reason}, changes = ${end.changes} WHERE id = ${runId} AND status = 'running'`
      const mine = sql`id = ${scheduleId} AND current_run = ${runId} AND lease_instance = ${instanceId}`
      if (end.retry) {
        yield* sql`UPDATE schedules SET lease_expires_ms = 0 WHERE ${mine}`
      } else {
        const baseline = end.baseline === null
          ? sql`last_scan_id`
          : sql`CASE WHEN spec_hash = ${end.baseline.specHash} THEN ${end.baseline.scanId} ELSE last_scan_id END`
        yield* sql`UPDATE schedules SET lease_instance = NULL, lease_expires_ms = NULL, current_run = NULL,
          last_scan_id = ${baseline} WHERE ${mine}`
      }
    })))

/** The spec's `enabled` and the row's change together, in one transaction; enabling also sets the next run. */
const setEnabled = (id: string, enabled: boolean, nowMs: number, nextRunMs: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(Effect.gen(function*() {
      // Waits for a claim of it under way, whose next run it would otherwise write back as it was before.
      yield* sql.onDialectOrElse({ pg: () => sql`SELECT id FROM schedules WHERE id = ${id} FOR UPDATE`, orElse: () => Effect.void })
      const [found] = yield* selectSchedules((sql) => sql`id = ${id}`)
      if (found === undefined) return false
      const spec = encodeSpec({ ...found.spec, enabled })
      const next = enabled && !found.spec.enabled ? nextRunMs : found.nextRunMs
      yield* sql`UPDATE schedules SET spec = ${spec}, enabled = ${enabled ? 1 : 0}, updated_ms = ${nowMs}, next_run_ms = ${next}
        WHERE id = ${id}`
      return true
    })))

const DeadLetterRow = Schema.Struct({
  id: Schema.String,
  webhook: Schema.String,
  schedule_id: Schema.String,
  run_id: Schema.String,
  payload: Schema.String,
  attempts: DbNumber,
  last_error: Schema.String,
  created_ms: DbNumber
})

const insertDeadLetter = (l: NewDeadLetter) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`INSERT INTO webhook_dead_letters ${
      sql.insert({
        id: l.id,
        webhook: l.webhook,
        schedule_id: l.scheduleId,
        run_id: l.runId,
        payload: l.payload,
        attempts: l.attempts,
        last_error: l.lastError,
        created_ms: l.nowMs
      })
    }`)

const selectDeadLetters = (limit: number, where: (sql: SqlClient.SqlClient) => Fragment) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT * FROM webhook_dead_letters WHERE ${where(sql)} ORDER BY id DESC LIMIT ${limit}`
    return yield* Effect.forEach(rows, (row) =>
      Effect.map(Schema.decodeUnknown(DeadLetterRow)(row), (r): DeadLetter => ({
        id: r.id,
        webhook: r.webhook,
        schedule_id: r.schedule_id,
        run_id: r.run_id,
        payload: r.payload,
        attempts: r.attempts,
        last_error: r.last_error,
        created_at: iso(r.created_ms)
      })))
  })

const makeStore = (db: Database["Type"]): ScheduleStoreService => {
  const use = <A>(operation: string, query: Effect.Effect<A, SqlError | ParseResult.ParseError, SqlClient.SqlClient>) =>
    db.use(`schedules.${operation}`, query)
  return {
    insert: (s, maxOwned) => use("insert", Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(insertChecked(s, maxOwned)))),
    list: (owner) => use("list", selectSchedules((sql) => (owner === undefined ? sql`1 = 1` : sql`owner = ${owner}`))),
    get: (id) => use("get", Effect.map(selectSchedules((sql) => sql`id = ${id}`), (rows) => Option.fromNullable(rows[0]))),
    remove: (id) =>
      use(
        "remove",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.map(sql`DELETE FROM schedules WHERE id = ${id} RETURNING id`, (rows) => rows.length > 0))
      ),
    syncConfigured: (schedules) => use("sync", Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(sync(schedules)))),
    claim: (options) => use("claim", claim(options)),
    renew: (scheduleId, runId, instanceId, expiresMs) =>
      use(
        "renew",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.map(
            sql`UPDATE schedules SET lease_expires_ms = ${expiresMs}
              WHERE id = ${scheduleId} AND current_run = ${runId} AND lease_instance = ${instanceId} RETURNING id`,
            (rows) => rows.length > 0
          ))
      ),
    finish: (scheduleId, runId, instanceId, end) => use("finish", finish(scheduleId, runId, instanceId, end)),
    runs: (scheduleId, limit) =>
      use(
        "runs",
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql`SELECT ${sql.literal(RUN_COLUMNS)} FROM schedule_runs WHERE schedule_id = ${scheduleId}
            ORDER BY id DESC LIMIT ${limit}`
          return yield* Effect.forEach(rows, (row) => Effect.map(decodeRun(row), toRun))
        })
      ),
    expireOthers: (instanceId) =>
      use(
        "expire",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`UPDATE schedules SET lease_expires_ms = 0 WHERE lease_instance IS NOT NULL AND lease_instance <> ${instanceId}`)
      ),
    deadLetter: (letter) => use("dead_letter", insertDeadLetter(letter)),
    deadLetters: (limit, before) =>
      use("dead_letters", selectDeadLetters(limit, (sql) => (before === undefined ? sql`1 = 1` : sql`id < ${before}`))),
    getDeadLetter: (id) =>
      use("dead_letter_get", Effect.map(selectDeadLetters(1, (sql) => sql`id = ${id}`), (rows) => Option.fromNullable(rows[0]))),
    removeDeadLetter: (id) =>
      use(
        "dead_letter_remove",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.map(sql`DELETE FROM webhook_dead_letters WHERE id = ${id} RETURNING id`, (rows) => rows.length > 0))
      ),
    failedAgain: (id, lastError) =>
      use(
        "dead_letter_failed",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`UPDATE webhook_dead_letters SET attempts = attempts + 1, last_error = ${lastError} WHERE id = ${id}`)
      ),
    setEnabled: (id, enabled, nowMs, nextRunMs) => use("enable", setEnabled(id, enabled, nowMs, nextRunMs))
  }
}

export class ScheduleStore extends Context.Tag("security-mcp/ScheduleStore")<ScheduleStore, ScheduleStoreService>() {
  static readonly layer: Layer.Layer<ScheduleStore, never, Database> = Layer.effect(ScheduleStore, Effect.map(Database, makeStore))
}
