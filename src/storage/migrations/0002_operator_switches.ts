import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** Operator decisions that outlive a restart: a tool switched on or off, a breaker held open (null: no override). */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE operator_switches (
    tool TEXT PRIMARY KEY,
    enabled INTEGER,
    circuit TEXT,
    updated_ms BIGINT NOT NULL,
    updated_by TEXT NOT NULL
  )`
})
