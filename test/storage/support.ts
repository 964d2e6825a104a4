import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { Duration, Effect, Layer, Redacted, Schema, type Scope, SubscriptionRef } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigService, type DeepPartial, mergeDeep } from "../../src/config/ConfigService.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { Events } from "../../src/events/Events.js"
import { AuditLog } from "../../src/observability/AuditLog.js"
import { Approvals } from "../../src/storage/Approvals.js"
import { causeMessage, DATABASE_FILE } from "../../src/storage/backend.js"
import type { ScanEnd, ScanStart } from "../../src/storage/ScanRecord.js"
import { StorageLive, type StorageOptions } from "../../src/storage/StorageLive.js"
import { atExit } from "../support/cleanup.js"

/**
 * The store's tests run against both databases: a SQLite file in a fresh
 * private directory, and a fresh database on a real PostgreSQL server (each
 * test creates its own and drops it, never touching others).
 *
 * PostgreSQL is found at MCP_TEST_PG_URL, by default the role `.ci/setup`
 * creates: postgres://mcp_test:mcp_test@127.0.0.1:5432/postgres. The role
 * needs CREATEDB. Without a reachable server the PostgreSQL tests fail.
 */

export const PG_ADMIN_URL = process.env["MCP_TEST_PG_URL"] ?? "postgres://mcp_test:mcp_test@127.0.0.1:5432/postgres"

const HOW_TO_GET_POSTGRES =
  "The store's PostgreSQL tests need a server: run `sh .ci/setup` as root (installs Debian's postgresql, starts the cluster and creates the mcp_test role), or set MCP_TEST_PG_URL to postgres://USER:PASSWORD@HOST:PORT/postgres for a role with CREATEDB."

export interface TestDatabase {
  readonly name: "sqlite" | "postgres"
  /** The `storage` settings selecting this database. */
  readonly storage: DeepPartial<typeof AppConfig.Encoded>["storage"]
  /** SQLite: the store's directory. */
  readonly directory: string
  /** PostgreSQL: the test database's name. */
  readonly database: string
  /** Runs SQL as the test's administrator (PostgreSQL: on the maintenance database). */
  readonly admin: <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) => Effect.Effect<A>
}

const adminClient = Layer.scoped(
  SqlClient.SqlClient,
  PgClient.make({ url: Redacted.make(PG_ADMIN_URL), connectTimeout: Duration.seconds(5), maxConnections: 2 })
).pipe(Layer.provide(Reactivity.layer))

const runAdmin = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>): Effect.Effect<A> =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(
    Effect.provide(adminClient),
    Effect.mapError((error) =>
      // PgClient's own connection failures start with "PgClient:"; anything else is the statement's failure.
      String((error as Error).message).startsWith("PgClient:")
        ? new Error(`${HOW_TO_GET_POSTGRES}\n(${PG_ADMIN_URL.replace(/:[^:@/]*@/, ":***@")}: ${causeMessage(error)})`)
        : new Error(`test administration statement failed: ${causeMessage(error)}`)
    ),
    Effect.orDie
  )

const databaseUrl = (name: string) => {
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

let counter = 0

const postgres: Effect.Effect<TestDatabase, never, Scope.Scope> = Effect.gen(function*() {
  const database = `mcp_store_test_${process.pid}_${Date.now().toString(36)}_${counter++}`
  yield* Effect.acquireRelease(
    runAdmin((sql) => sql.unsafe(`CREATE DATABASE ${database}`)),
    () => runAdmin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).pipe(Effect.ignore)
  )
  return {
    name: "postgres",
    storage: { url: databaseUrl(database) },
    directory: "",
    database,
    admin: runAdmin
  }
})

const sqlite: Effect.Effect<TestDatabase, never, Scope.Scope> = Effect.gen(function*() {
  const parent = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const dir = mkdtempSync(join(tmpdir(), "mcp-store-"))
      return { dir, forget: atExit(() => rmSync(dir, { recursive: true, force: true })) }
    }),
    ({ dir, forget }) =>
      Effect.sync(() => {
        rmSync(dir, { recursive: true, force: true })
        forget()
      })
  )
  const directory = join(parent.dir, "data")
  return {
    name: "sqlite",
    storage: { path: directory },
    directory,
    database: join(directory, DATABASE_FILE),
    admin: () => Effect.die(new Error("SQLite has no administrator connection"))
  }
})

export const testDatabases: ReadonlyArray<{ readonly name: "sqlite" | "postgres"; readonly make: typeof sqlite }> = [
  { name: "sqlite", make: sqlite },
  { name: "postgres", make: postgres }
]

type ConfigPatch = DeepPartial<typeof AppConfig.Encoded>

/** A configuration the test can change while the services run, as a hot reload would. */
export const testConfig = (db: TestDatabase, patch: ConfigPatch = {}) =>
  Effect.gen(function*() {
    let encoded: unknown = mergeDeep(defaults, { ...patch, storage: { ...patch.storage, ...db.storage } })
    const decode = Schema.decodeUnknownSync(AppConfig)
    const ref = yield* SubscriptionRef.make(decode(encoded))
    return {
      layer: Layer.succeed(ConfigService, { get: SubscriptionRef.get(ref), changes: ref.changes }),
      set: (change: ConfigPatch) =>
        Effect.suspend(() => {
          encoded = mergeDeep(encoded, change)
          return SubscriptionRef.set(ref, decode(encoded))
        })
    }
  })

/** Every storage service over `db`, and the configuration they read (its defaults with `patch` applied). */
export const storageLayer = (config: Layer.Layer<ConfigService>, options: Partial<StorageOptions> = {}) =>
  StorageLive({ configFile: undefined, ...options }).pipe(Layer.provideMerge(config))

/** Approvals over the storage services, with a real audit log (at the config's audit_log_path) and event hub. */
export const approvalsLayer = (config: Layer.Layer<ConfigService>) =>
  Approvals.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(AuditLog.layer, Events.layer)),
    Layer.provideMerge(storageLayer(config))
  )

let scanCounter = 0

/** A start as the executor would record it; `scan_id` must be a fresh ULID when given to the store directly. */
export const startOf = (overrides: Partial<ScanStart> & Pick<ScanStart, "scan_id">): ScanStart => ({
  tool: "NmapTool",
  caller_id: "key-a",
  correlation_id: `corr-${scanCounter++}`,
  target: "127.0.0.1",
  resolved_target: "127.0.0.1",
  argv: ["nmap", "-n", "-sT", "-p", "22", "-oX", "-", "127.0.0.1"],
  args: ["-sT", "-p", "22"],
  template: null,
  intrusive: false,
  notes: [],
  started_at_ms: 1_700_000_000_000,
  ...overrides
})

export const endOf = (overrides: Partial<ScanEnd> = {}): ScanEnd => ({
  outcome: "succeeded",
  finished_at_ms: 1_700_000_001_500,
  execution_time: 1.5,
  returncode: 0,
  signal: null,
  timed_out: false,
  error: null,
  error_type: null,
  truncated_stdout: false,
  truncated_stderr: false,
  parse_status: "complete",
  structured: { hosts: [{ address: "127.0.0.1", ports: [{ port: 22, state: "open", service: "ssh" }] }] },
  summary: "1 host up: 127.0.0.1 tcp/22 open (ssh)",
  stdout: "<nmaprun>…</nmaprun>",
  stderr: "",
  ...overrides
})
