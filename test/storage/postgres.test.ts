import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Clock, Context, type Duration, Effect, Fiber, Layer, Option, Redacted, TestClock, TestServices } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { Database } from "../../src/storage/Database.js"
import { LOCK_CLASS } from "../../src/storage/instances.js"
import { ScanStore } from "../../src/storage/ScanStore.js"
import { StorageLive } from "../../src/storage/StorageLive.js"
import { makeUlidGenerator } from "../../src/storage/ulid.js"
import { startOf, storageLayer, testConfig, type TestDatabase, testDatabases } from "./support.js"

const postgres = testDatabases.find((d) => d.name === "postgres")!.make

const admin = { callerId: "ops", admin: true }

const open = (db: TestDatabase, maintenanceInterval: Duration.DurationInput = "30 seconds") =>
  Effect.gen(function*() {
    const config = yield* testConfig(db)
    const context = yield* Layer.build(storageLayer(config.layer, { database: { maintenanceInterval } }))
    const database = Context.get(context, Database)
    yield* database.ready
    return { database, store: Context.get(context, ScanStore) }
  })

describe("scan store shared by instances on PostgreSQL", { timeout: 30_000 }, () => {
  it.scopedLive(
    "an instance starting never interrupts the running scans of a live one; it does once that one dies",
    () =>
      Effect.gen(function*() {
        const db = yield* postgres
        const nextId = yield* makeUlidGenerator
        const first = yield* open(db)
        const start = startOf({ scan_id: yield* nextId })
        yield* first.store.begin(start)
        const second = yield* open(db, "50 millis")
        expect((yield* second.store.get(start.scan_id, admin)).outcome).toBe("running")
        expect(second.database.instanceId).not.toBe(first.database.instanceId)

        // The first instance's connections drop (its process was killed): its advisory lock is released.
        yield* db.admin((sql) =>
          sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = ${`security-mcp-server ${first.database.instanceId}`}`
        )
        const outcome = Effect.map(second.store.get(start.scan_id, admin), (r) => r.outcome)
        const deadline = Date.now() + 10_000
        while ((yield* outcome) === "running" && Date.now() < deadline) yield* Effect.sleep("50 millis")
        expect(yield* outcome).toBe("interrupted")
      }),
    20_000
  )

  it.scoped(
    "a database restart frees every lock: a live instance's scans stay running until its heartbeat is stale",
    () =>
      Effect.gen(function*() {
        // Heartbeats are compared with the database server's start time: the test clock starts at the real time.
        yield* TestClock.setTime(Date.now())
        const db = yield* postgres
        const nextId = yield* makeUlidGenerator
        const first = yield* open(db, "1000 days")
        const start = startOf({ scan_id: yield* nextId })
        yield* first.store.begin(start)
        const second = yield* open(db, "1 minute")
        const sql = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
          Effect.orDie(second.database.use("test", Effect.flatMap(SqlClient.SqlClient, f)))
        // The first instance's row names the server it took its lock on; that server is gone (a restart or failover)…
        yield* sql((q) => q`UPDATE store_instances SET server_started_ms = 1 WHERE instance_id = ${first.database.instanceId}`)
        // … which freed its lock (it takes it again at its next round, in 1000 days here).
        yield* db.admin((q) =>
          q`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = ${`security-mcp-server ${first.database.instanceId}`}`
        )
        const outcome = Effect.map(second.store.get(start.scan_id, admin), (r) => r.outcome)
        /** Moves the clock on a minute and waits for the second instance's round then: done once it sleeps until the next. */
        const nextRound = Effect.gen(function*() {
          yield* TestClock.adjust("1 minute")
          const next = (yield* Clock.currentTimeMillis) + 60_000
          while (!Chunk.some(yield* TestClock.sleeps(), (at) => at === next)) {
            yield* TestServices.liveWith((live) => live.provide(Effect.sleep(20)))
          }
        })
        yield* nextRound
        expect(yield* outcome).toBe("running")
        // Three rounds without a heartbeat: it is dead after all.
        let minutes = 1
        while ((yield* outcome) === "running" && minutes < 10) {
          yield* nextRound
          minutes++
        }
        expect(yield* outcome).toBe("interrupted")
        expect(minutes).toBeGreaterThan(3)
      }),
    30_000
  )

  it.scopedLive("the lock's connection dying again and again costs no pool connection", () =>
    Effect.gen(function*() {
      const db = yield* postgres
      const { database, store } = yield* open(db, "50 millis")
      const lockHolder = db.admin((q) =>
        Effect.map(
          q<{ pid: number }>`SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.classid = ${LOCK_CLASS} AND l.granted
              AND a.application_name = ${`security-mcp-server ${database.instanceId}`}`,
          (rows) => rows[0]?.pid
        )
      )
      const nextId = yield* makeUlidGenerator
      // More deaths than the pool has connections (4): a connection leaked per death would leave none.
      for (let death = 0; death < 6; death++) {
        const pid = yield* lockHolder
        expect(pid).toBeDefined()
        yield* db.admin((q) => q`SELECT pg_terminate_backend(${pid!})`)
        while ((yield* lockHolder) === undefined || (yield* lockHolder) === pid) yield* Effect.sleep("20 millis")
        const start = startOf({ scan_id: yield* nextId })
        yield* store.begin(start)
        expect((yield* store.get(start.scan_id, admin)).outcome).toBe("running")
      }
    }), 30_000)

  it.scopedLive("instances starting together take turns at the migrations", () =>
    Effect.gen(function*() {
      const db = yield* postgres
      // Another instance is migrating: it holds the migration lock of this database.
      const other = Context.get(
        yield* Layer.build(
          Layer.scoped(SqlClient.SqlClient, PgClient.make({ url: Redacted.make(String(db.storage?.url)) })).pipe(
            Layer.provide(Reactivity.layer)
          )
        ),
        SqlClient.SqlClient
      )
      const connection = yield* other.reserve
      yield* connection.execute("SELECT pg_advisory_lock($1, 0)", [LOCK_CLASS], undefined)
      const config = yield* testConfig(db)
      const starting = yield* Effect.fork(
        Effect.flatMap(Layer.build(storageLayer(config.layer)), (context) => Context.get(context, Database).ready)
      )
      yield* Effect.sleep("300 millis")
      expect(Option.isNone(yield* Fiber.poll(starting))).toBe(true)
      yield* connection.execute("SELECT pg_advisory_unlock($1, 0)", [LOCK_CLASS], undefined)
      yield* Fiber.join(starting).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("never opened") }))
    }))

  it.scopedLive("a server that cannot reach PostgreSQL starts anyway, stores nothing and says why", () =>
    Effect.gen(function*() {
      const config = ConfigService.layerWith({ storage: { url: "postgres://mcp_test:secret-pw@127.0.0.1:1/nowhere" } })
      const context = yield* Layer.build(StorageLive({ configFile: undefined }).pipe(Layer.provideMerge(config)))
      const database = Context.get(context, Database)
      expect(database.info).toEqual({ backend: "postgres", location: "postgres://mcp_test@127.0.0.1:1/nowhere" })
      const health = yield* database.health.run
      expect(health.status).toBe("degraded")
      expect(health.message).toContain("Check that PostgreSQL at postgres://mcp_test@127.0.0.1:1/nowhere is reachable")
      expect(JSON.stringify(health)).not.toContain("secret-pw")
      const nextId = yield* makeUlidGenerator
      const error = yield* Effect.flip(Context.get(context, ScanStore).begin(startOf({ scan_id: yield* nextId })))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).not.toContain("secret-pw")
    }))
})
