import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Which PostgreSQL server an instance's lock lives on (its start time): a
 * restart or failover frees every lock at once, and an instance whose lock
 * is free only because the server it was taken on is gone is not dead (see
 * `instances.ts`). Rows of earlier versions have none.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE store_instances ADD COLUMN server_started_ms BIGINT`
})
