import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Scans and the server instances that write them. Times are milliseconds
 * since the epoch, booleans 0/1 (SQLite binds no booleans), JSON as text and
 * outputs gzip-compressed, so every query reads the same on both databases.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const blob = sql.onDialectOrElse({ pg: () => "BYTEA", orElse: () => "BLOB" })
  yield* sql.unsafe(`CREATE TABLE scans (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    caller_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    target TEXT NOT NULL,
    resolved_target TEXT NOT NULL,
    argv TEXT NOT NULL,
    args TEXT NOT NULL,
    template TEXT,
    fingerprint TEXT NOT NULL,
    intrusive INTEGER NOT NULL,
    notes TEXT NOT NULL,
    started_ms BIGINT NOT NULL,
    finished_ms BIGINT,
    stored_ms BIGINT NOT NULL,
    execution_time DOUBLE PRECISION,
    outcome TEXT NOT NULL,
    returncode INTEGER,
    signal TEXT,
    timed_out INTEGER NOT NULL,
    error TEXT,
    error_type TEXT,
    truncated_stdout INTEGER NOT NULL,
    truncated_stderr INTEGER NOT NULL,
    parse_status TEXT NOT NULL,
    summary TEXT NOT NULL,
    structured_gz ${blob},
    stdout_gz ${blob},
    stderr_gz ${blob},
    stdout_bytes BIGINT NOT NULL,
    stderr_bytes BIGINT NOT NULL,
    stored_bytes BIGINT NOT NULL,
    engagement TEXT,
    engagement_hash TEXT
  )`)
  yield* sql`CREATE INDEX scans_caller ON scans (caller_id, id)`
  yield* sql`CREATE INDEX scans_tool ON scans (tool, id)`
  yield* sql`CREATE INDEX scans_target ON scans (target, id)`
  yield* sql`CREATE INDEX scans_resolved_target ON scans (resolved_target, id)`
  yield* sql`CREATE INDEX scans_fingerprint ON scans (fingerprint, id)`
  yield* sql`CREATE INDEX scans_started ON scans (started_ms)`
  yield* sql`CREATE INDEX scans_running ON scans (instance_id) WHERE outcome = 'running'`
  yield* sql`CREATE TABLE store_instances (
    instance_id TEXT PRIMARY KEY,
    lock_key INTEGER NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_ms BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL
  )`
})
