import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Redacted, type Scope } from "effect"
import { dirname, join, resolve } from "node:path"
import type { StorageConfig } from "../config/schema.js"
import { StoreUnavailable } from "./errors.js"
import { prepareSqliteFiles } from "./files.js"

/**
 * The one place that turns the `storage` settings into a database: SQLite
 * in a private directory by default, PostgreSQL when `storage.url` is set.
 * Everything above this file sees only `SqlClient`. Each driver is loaded
 * when its backend is opened: pg alone pulls in net, tls and http, which a
 * stdio server on SQLite never needs.
 */

export const DATABASE_FILE = "store.sqlite"

export type Backend =
  | { readonly _tag: "sqlite"; readonly directory: string; readonly file: string }
  | { readonly _tag: "postgres"; readonly url: Redacted.Redacted<string>; readonly location: string }

/** `storage.path`, or `data/` beside the config file, or `data/` under the working directory; relative paths are from the working directory. */
export const storageDirectory = (path: string, configFile: string | undefined, cwd: string): string => {
  if (path !== "") return resolve(cwd, path)
  return configFile === undefined ? join(cwd, "data") : join(dirname(resolve(cwd, configFile)), "data")
}

/** The URL as logs and health may show it: no password, no query string (which may carry one). */
export const publicLocation = (url: string): string => {
  try {
    const parsed = new URL(url)
    const user = parsed.username === "" ? "" : `${parsed.username}@`
    return `postgres://${user}${parsed.host}${parsed.pathname}`
  } catch {
    return "postgres://(unparsable URL)"
  }
}

export const chooseBackend = (storage: StorageConfig, configFile: string | undefined, cwd: string): Backend => {
  const url = Redacted.value(storage.url)
  if (url !== "") return { _tag: "postgres", url: storage.url, location: publicLocation(url) }
  const directory = storageDirectory(storage.path, configFile, cwd)
  return { _tag: "sqlite", directory, file: join(directory, DATABASE_FILE) }
}

export const locationOf = (backend: Backend): string => (backend._tag === "sqlite" ? backend.file : backend.location)

/** What an operator should check when the database fails, appended to every store error. */
export const adviceFor = (backend: Backend): string =>
  backend._tag === "sqlite"
    ? `Check that ${backend.directory} is writable by this user and its disk has space (storage.path), or set storage.enabled: false.`
    : `Check that PostgreSQL at ${backend.location} is reachable and accepts the role (storage.url), or set storage.enabled: false.`

/** The innermost message of a database failure: the driver's own words (drivers never echo the connection string). */
export const causeMessage = (error: unknown): string => {
  let current: unknown = error
  for (let depth = 0; depth < 8; depth++) {
    const cause = (current as { readonly cause?: unknown } | null)?.cause
    if (!(cause instanceof Error)) break
    current = cause
  }
  return current instanceof Error ? current.message : String(current)
}

const openFailed = (backend: Backend, error: unknown) =>
  new StoreUnavailable({
    operation: "open",
    message: `Cannot open the ${backend._tag} store at ${locationOf(backend)}: ${causeMessage(error)}. ${adviceFor(backend)}`
  })

/**
 * WAL (set by the client) with NORMAL sync is durable across crashes and
 * fast. Incremental auto-vacuum lets the sweep give deleted pages back to the
 * file system; it takes effect on a new database only through a VACUUM,
 * which costs nothing while the database is still empty.
 */
const sqlitePragmas = (sql: SqlClient.SqlClient) =>
  Effect.gen(function*() {
    yield* sql.unsafe("PRAGMA synchronous = NORMAL")
    yield* sql.unsafe("PRAGMA busy_timeout = 2000")
    const [mode] = yield* sql<{ auto_vacuum: number }>`PRAGMA auto_vacuum`
    const [tables] = yield* sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master`
    if (mode?.auto_vacuum !== 2 && tables?.n === 0) {
      yield* sql.unsafe("PRAGMA auto_vacuum = INCREMENTAL")
      yield* sql.unsafe("VACUUM")
    }
  })

const sqlite = (backend: Extract<Backend, { _tag: "sqlite" }>) =>
  Effect.gen(function*() {
    yield* prepareSqliteFiles(backend.directory, backend.file)
    const SqliteClient = yield* Effect.promise(() => import("@effect/sql-sqlite-node/SqliteClient"))
    const client = yield* SqliteClient.make({ filename: backend.file })
    yield* sqlitePragmas(client)
    return client as SqlClient.SqlClient
  })

const postgres = (backend: Extract<Backend, { _tag: "postgres" }>, instanceId: string) =>
  Effect.flatMap(Effect.promise(() => import("@effect/sql-pg/PgClient")), (PgClient) =>
    PgClient.make({
      url: backend.url,
      connectTimeout: Duration.seconds(5),
      maxConnections: 4,
      idleTimeout: Duration.seconds(60),
      applicationName: `security-mcp-server ${instanceId}`
    }))

/**
 * The database client, opened in the caller's scope. PostgreSQL connections
 * are named after the instance, so `pg_stat_activity` shows which server
 * holds them.
 */
export const openClient = (backend: Backend, instanceId: string): Effect.Effect<SqlClient.SqlClient, StoreUnavailable, Scope.Scope> => {
  const open: Effect.Effect<SqlClient.SqlClient, unknown, Scope.Scope | Reactivity.Reactivity> = backend._tag === "sqlite"
    ? sqlite(backend)
    : postgres(backend, instanceId)
  return open.pipe(
    // better-sqlite3 throws from its constructor (an unopenable file): a defect there, an ordinary failure here.
    Effect.catchAllDefect(Effect.fail),
    Effect.mapError((error) => openFailed(backend, error)),
    Effect.provide(Reactivity.layer)
  )
}
