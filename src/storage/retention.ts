import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Clock, Duration, Effect, Metric, Ref } from "effect"
import type { ConfigService } from "../config/ConfigService.js"
import type { StorageConfig } from "../config/schema.js"
import type { DatabaseService } from "./Database.js"
import { storeDeleted } from "./metrics.js"

/**
 * The retention rules, oldest scans first: older than `max_age_days`, beyond
 * the newest `max_scans`, and beyond `max_bytes` counted from the newest
 * down. A running scan is never deleted. Deletes go in small batches, each
 * its own statement, so the scan path's writes interleave with a long sweep.
 */

export interface SweepResult {
  readonly max_age: number
  readonly max_scans: number
  readonly max_bytes: number
}

const BATCH = 500
const DAY_MS = 86_400_000

type Rule = keyof SweepResult

const deleteBatches = (db: DatabaseService, rule: Rule, condition: (sql: SqlClient.SqlClient) => Fragment) => {
  const batch = db.use(
    "sweep",
    Effect.flatMap(SqlClient.SqlClient, (sql) =>
      sql<{ id: string }>`DELETE FROM scans WHERE id IN (
        SELECT id FROM scans WHERE outcome <> 'running' AND ${condition(sql)} ORDER BY id LIMIT ${BATCH}
      ) RETURNING id`)
  )
  const loop = (total: number): Effect.Effect<number, Effect.Effect.Error<typeof batch>> =>
    Effect.flatMap(batch, (rows) => (rows.length < BATCH ? Effect.succeed(total + rows.length) : loop(total + rows.length)))
  return loop(0).pipe(Effect.tap((n) => Metric.incrementBy(Metric.tagged(storeDeleted, "rule", rule), n)))
}

/** The id of the newest scan a rule deletes, or undefined when it deletes none. */
const cutoffId = (
  db: DatabaseService,
  query: (sql: SqlClient.SqlClient) => Effect.Effect<ReadonlyArray<{ readonly id: string }>, SqlError>
) => db.use("sweep", Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.map(query(sql), (rows) => rows[0]?.id)))

const byCutoff = (db: DatabaseService, rule: Rule, id: string | undefined) =>
  id === undefined ? Effect.succeed(0) : deleteBatches(db, rule, (sql) => sql`id <= ${id}`)

/** Applies `retention` once; on SQLite the freed pages go back to the file system. */
export const sweepOnce = (db: DatabaseService, retention: StorageConfig["retention"]) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const max_age = retention.max_age_days > 0
      ? yield* deleteBatches(db, "max_age", (sql) => sql`started_ms < ${now - retention.max_age_days * DAY_MS}`)
      : 0
    const max_scans = retention.max_scans > 0
      ? yield* byCutoff(
        db,
        "max_scans",
        yield* cutoffId(db, (sql) => sql`SELECT id FROM scans ORDER BY id DESC LIMIT 1 OFFSET ${retention.max_scans}`)
      )
      : 0
    const max_bytes = retention.max_bytes > 0
      ? yield* byCutoff(
        db,
        "max_bytes",
        yield* cutoffId(db, (sql) =>
          sql`SELECT id FROM (SELECT id, SUM(stored_bytes) OVER (ORDER BY id DESC) AS total FROM scans) newest
            WHERE total > ${retention.max_bytes} ORDER BY id DESC LIMIT 1`)
      )
      : 0
    if (max_age + max_scans + max_bytes > 0) {
      yield* db.use(
        "vacuum",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql.onDialectOrElse({ sqlite: () => sql.unsafe("PRAGMA incremental_vacuum"), orElse: () => Effect.void }))
      )
    }
    return { max_age, max_scans, max_bytes } satisfies SweepResult
  })

const monotonicMillis = Effect.map(Clock.currentTimeNanos, (n) => Number(n / 1_000_000n))

/**
 * Once the database is open, sweeps every `storage.sweep_interval` seconds
 * (re-read each round) at a fixed rate: a round that ran late is followed by
 * at most one catch-up round, never a burst.
 */
export const sweepForever = (db: DatabaseService, config: ConfigService["Type"]) =>
  Effect.gen(function*() {
    yield* db.ready
    const round = Effect.flatMap(config.get, (c) => sweepOnce(db, c.storage.retention)).pipe(
      Effect.tap((r) =>
        r.max_age + r.max_scans + r.max_bytes === 0 ? Effect.void : Effect.logInfo(
          `store: retention deleted ${
            r.max_age + r.max_scans + r.max_bytes
          } scans (max_age ${r.max_age}, max_scans ${r.max_scans}, max_bytes ${r.max_bytes})`
        )
      ),
      // A failure is already counted and logged by the database; the next round tries again.
      Effect.ignore
    )
    const interval = Effect.map(config.get, (c) => c.storage.sweep_interval * 1000)
    const due = yield* Ref.make((yield* monotonicMillis) + (yield* interval))
    return yield* Effect.forever(Effect.gen(function*() {
      const wait = (yield* Ref.get(due)) - (yield* monotonicMillis)
      if (wait > 0) yield* Effect.sleep(Duration.millis(wait))
      yield* round
      const next = (yield* Ref.get(due)) + (yield* interval)
      yield* Ref.set(due, Math.max(next, yield* monotonicMillis))
    }))
  })
