import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Standing approvals of scheduled runs live in `approvals` beside the
 * per-call ones (`kind`, the `schedule_id` they cover, who revoked them and
 * when), so one queue, one set of routes and one four-eyes rule serve both.
 * `rate_buckets` holds the token buckets clients share across instances on
 * PostgreSQL: one row per client, refilled by the database's own clock.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE approvals ADD COLUMN kind TEXT NOT NULL DEFAULT 'call'`
  yield* sql`ALTER TABLE approvals ADD COLUMN schedule_id TEXT`
  yield* sql`ALTER TABLE approvals ADD COLUMN revoked_by TEXT`
  yield* sql`ALTER TABLE approvals ADD COLUMN revoked_ms BIGINT`
  yield* sql`CREATE INDEX approvals_schedule ON approvals (schedule_id, id)`
  yield* sql`CREATE TABLE rate_buckets (
    key TEXT PRIMARY KEY,
    tokens DOUBLE PRECISION NOT NULL,
    updated_s DOUBLE PRECISION NOT NULL
  )`
})
