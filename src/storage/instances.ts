import * as SqlClient from "@effect/sql/SqlClient"
import type * as SqlConnection from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Effect, Option, type Scope } from "effect"
import { hostname } from "node:os"

/**
 * Which server instance wrote which running scan, so a scan whose server died
 * is marked `interrupted` instead of staying `running` forever. On SQLite
 * (one process per store file) every other instance is gone by the time a
 * new one opens the file. On PostgreSQL, where several instances share the
 * database, each holds a session advisory lock for its lifetime; PostgreSQL
 * releases it when the holder's connection dies, so a free lock means a dead
 * instance — unless the database server restarted (or failed over) since the
 * lock was taken, which frees every lock at once: the living take theirs
 * again at their next maintenance round, so such an instance is dead only
 * once its heartbeat is also older than `staleAfterMs`.
 */

/** Advisory-lock class of instance locks (the object is the instance's `lock_key`). */
export const LOCK_CLASS = 0x4d435053

export interface Instance {
  readonly id: string
  readonly lockKey: number
}

export const CRASHED =
  "The server that ran this scan stopped (crash, kill or power loss) before the execution ended; no result was recorded. Run the scan again."
export const STOPPED = "The server shut down before the execution ended; no result was recorded. Run the scan again."

/** The instance lock's session, and when the PostgreSQL server it lives on started (ms). */
export interface LockSession {
  readonly connection: SqlConnection.Connection
  readonly serverStartedMs: number
}

/**
 * PostgreSQL: takes the instance's lock on a connection reserved for
 * `scope`, failing (rather than waiting) if another session holds the key,
 * and reads on that same session which server it is on. SQLite: no lock is
 * needed.
 */
export const holdLock = (
  instance: Instance
): Effect.Effect<Option.Option<LockSession>, SqlError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () =>
        Effect.gen(function*() {
          const connection = yield* sql.reserve
          const [row] = yield* connection.execute(
            `SELECT pg_try_advisory_lock($1, $2) AS locked, ${SERVER_STARTED_MS} AS server_ms`,
            [LOCK_CLASS, instance.lockKey],
            undefined
          )
          if (row?.locked !== true) {
            return yield* new SqlError({ message: `the instance lock key ${instance.lockKey} is held by another session` })
          }
          return Option.some({ connection, serverStartedMs: Number(row.server_ms) })
        }),
      orElse: () => Effect.succeedNone
    }))

const SERVER_STARTED_MS = "(extract(epoch FROM pg_postmaster_start_time()) * 1000)::bigint"

/** When the PostgreSQL server started (ms); null on SQLite. */
const serverStarted = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql.onDialectOrElse({
    pg: () => Effect.map(sql<{ ms: unknown }>`SELECT ${sql.literal(SERVER_STARTED_MS)} AS ms`, (rows) => Number(rows[0]?.ms)),
    orElse: () => Effect.succeed(null)
  }))

/**
 * Writes (or rewrites, if another instance removed it) this instance's row; doubles as the store's write probe.
 * `lockServerMs` is the start of the server its lock was taken on (null on SQLite): after a restart the row keeps
 * naming the old one until the lock is taken again.
 */
export const heartbeat = (instance: Instance, now: number, lockServerMs: number | null) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`INSERT INTO store_instances ${
      sql.insert({
        instance_id: instance.id,
        lock_key: instance.lockKey,
        host: hostname(),
        pid: process.pid,
        started_ms: now,
        heartbeat_ms: now,
        server_started_ms: lockServerMs
      })
    } ON CONFLICT (instance_id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms, server_started_ms = excluded.server_started_ms`)

interface OtherInstance {
  readonly instance_id: string
  readonly lock_key: number
  readonly heartbeat_ms: unknown
  readonly server_started_ms: unknown
}

/**
 * Whether a free lock means death: it was taken on this very server (or by a version that did not say where), or the
 * instance has not written its heartbeat for `staleAfterMs` since the later of its last one and this server's start
 * (an outage writes none).
 */
const diedHere = (other: OtherInstance, server: number | null, now: number, staleAfterMs: number) =>
  other.server_started_ms === null || Number(other.server_started_ms) === server ||
  now - Math.max(Number(other.heartbeat_ms), server ?? 0) > staleAfterMs

const deadInstances = (self: Instance, now: number, staleAfterMs: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const others = yield* sql<OtherInstance>`
      SELECT instance_id, lock_key, heartbeat_ms, server_started_ms FROM store_instances WHERE instance_id <> ${self.id}`
    const server = yield* serverStarted
    const isDead = (other: OtherInstance): Effect.Effect<boolean, SqlError> =>
      sql.onDialectOrElse({
        pg: () =>
          diedHere(other, server, now, staleAfterMs)
            ? Effect.map(
              sql<{ free: boolean }>`SELECT pg_try_advisory_xact_lock(${LOCK_CLASS}, ${other.lock_key}) AS free`,
              (rows) => rows[0]?.free === true
            )
            : Effect.succeed(false),
        orElse: () => Effect.succeed(true)
      })
    const dead = yield* Effect.filter(others, isDead)
    return dead.map((d) => d.instance_id)
  })

const interrupt = (condition: Fragment, now: number, message: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql<{ id: string }>`UPDATE scans SET outcome = 'interrupted', finished_ms = ${now}, stored_ms = ${now}, error = ${message}
      WHERE outcome = 'running' AND ${condition} RETURNING id`
  )

/**
 * Marks `interrupted` the running scans of dead instances, and of instances
 * whose row is gone, then forgets the dead instances. Returns the scan ids.
 */
export const recoverInterrupted = (self: Instance, now: number, staleAfterMs: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(recover(self, now, staleAfterMs)))

const recover = (self: Instance, now: number, staleAfterMs: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const dead = yield* deadInstances(self, now, staleAfterMs)
    const ofDead = dead.length === 0 ? [] : yield* interrupt(sql.in("instance_id", dead), now, CRASHED)
    if (dead.length > 0) yield* sql`DELETE FROM store_instances WHERE ${sql.in("instance_id", dead)}`
    const orphans = yield* interrupt(sql`instance_id NOT IN (SELECT instance_id FROM store_instances)`, now, CRASHED)
    return [...ofDead, ...orphans].map((row) => row.id)
  })

/** A graceful stop: this instance's scans still running are interrupted, and its row removed. */
export const release = (self: Instance, now: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.withTransaction(
      Effect.zipRight(
        interrupt(sql`instance_id = ${self.id}`, now, STOPPED),
        sql`DELETE FROM store_instances WHERE instance_id = ${self.id}`
      )
    ))
