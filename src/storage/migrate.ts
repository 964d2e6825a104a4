import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { LOCK_CLASS } from "./instances.js"
import { migrations, MIGRATIONS_TABLE } from "./migrations/index.js"

/** Advisory-lock object of migrations; instance locks use 1 and up. */
const MIGRATION_LOCK = 0

/**
 * Applies the pending migrations. On PostgreSQL, instances starting together
 * take turns under an advisory lock: the Migrator's own table lock cannot
 * stop two of them creating its table at the same moment.
 */
export const migrate = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const run = Migrator.make({})({ loader: migrations, table: MIGRATIONS_TABLE })
  return yield* sql.onDialectOrElse({
    pg: () =>
      Effect.scoped(Effect.gen(function*() {
        const connection = yield* sql.reserve
        const unlock = connection.execute("SELECT pg_advisory_unlock($1, $2)", [LOCK_CLASS, MIGRATION_LOCK], undefined)
        yield* connection.execute("SELECT pg_advisory_lock($1, $2)", [LOCK_CLASS, MIGRATION_LOCK], undefined)
        return yield* Effect.ensuring(run, Effect.ignore(unlock))
      })),
    orElse: () => run
  })
})
