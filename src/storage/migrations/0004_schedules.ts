import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Scheduled rescans, their runs, and the webhook deliveries that failed for
 * good. A schedule's lease (`lease_instance`, `lease_expires_ms`) says which
 * instance runs its current run and until when; another instance takes an
 * expired lease over, marks the run interrupted and retries it once.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    owner TEXT NOT NULL,
    source TEXT NOT NULL,
    spec TEXT NOT NULL,
    spec_hash TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    next_run_ms BIGINT NOT NULL,
    lease_instance TEXT,
    lease_expires_ms BIGINT,
    current_run TEXT,
    last_scan_id TEXT
  )`
  yield* sql`CREATE UNIQUE INDEX schedules_owner_name ON schedules (owner, name)`
  yield* sql`CREATE INDEX schedules_due ON schedules (next_run_ms)`
  yield* sql`CREATE TABLE schedule_runs (
    id TEXT PRIMARY KEY,
    schedule_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    due_ms BIGINT NOT NULL,
    started_ms BIGINT NOT NULL,
    finished_ms BIGINT,
    instance_id TEXT NOT NULL,
    status TEXT NOT NULL,
    scan_id TEXT,
    reason TEXT,
    changes INTEGER
  )`
  yield* sql`CREATE INDEX schedule_runs_schedule ON schedule_runs (schedule_id, id)`
  yield* sql`CREATE TABLE webhook_dead_letters (
    id TEXT PRIMARY KEY,
    webhook TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    created_ms BIGINT NOT NULL
  )`
})
