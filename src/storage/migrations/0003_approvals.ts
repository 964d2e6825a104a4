import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Pending and decided approvals: each bound to the digest of exactly what
 * would run, decided once (a conditional update from `pending`) and used
 * once (a conditional update from `approved`). Stored so that a restart does
 * not lose a request an approver is about to decide.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    status TEXT NOT NULL,
    tool TEXT NOT NULL,
    target TEXT NOT NULL,
    resolved_target TEXT NOT NULL,
    argv TEXT NOT NULL,
    intrusive INTEGER NOT NULL,
    intrusive_reasons TEXT NOT NULL,
    engagement TEXT NOT NULL,
    engagement_hash TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    requested_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    decided_by TEXT,
    decided_ms BIGINT,
    reason TEXT,
    used_ms BIGINT
  )`
  yield* sql`CREATE INDEX approvals_status ON approvals (status, expires_ms)`
})
