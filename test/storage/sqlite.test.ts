import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Schedule, TestClock } from "effect"
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { Database } from "../../src/storage/Database.js"
import { ScanStore } from "../../src/storage/ScanStore.js"
import { makeUlidGenerator } from "../../src/storage/ulid.js"
import { endOf, startOf, storageLayer, testConfig, type TestDatabase, testDatabases } from "./support.js"

const sqlite = testDatabases.find((d) => d.name === "sqlite")!.make

const modeOf = (path: string) => statSync(path).mode & 0o777

const open = (db: TestDatabase, options: Parameters<typeof storageLayer>[1] = {}) =>
  Effect.gen(function*() {
    const config = yield* testConfig(db)
    const context = yield* Layer.build(storageLayer(config.layer, options))
    return { database: Context.get(context, Database), store: Context.get(context, ScanStore) }
  })

describe("scan store on a SQLite file", { timeout: 20_000 }, () => {
  it.scoped("creates its directory 0700 and every database file 0600", () =>
    Effect.gen(function*() {
      const db = yield* sqlite
      const { database, store } = yield* open(db)
      yield* database.ready
      const nextId = yield* makeUlidGenerator
      yield* store.finish(startOf({ scan_id: yield* nextId }), endOf())
      expect(modeOf(db.directory)).toBe(0o700)
      const files = readdirSync(db.directory)
      expect(files).toEqual(expect.arrayContaining(["store.sqlite", "store.sqlite-wal", "store.sqlite-shm"]))
      for (const file of files) expect([file, modeOf(join(db.directory, file))]).toEqual([file, 0o600])
      expect(database.info).toEqual({ backend: "sqlite", location: db.database })
      // Deleted scans give their pages back to the file system.
      const vacuum = yield* database.use("test", Effect.flatMap(SqlClient.SqlClient, (sql) => sql`PRAGMA auto_vacuum`))
      expect(vacuum).toEqual([{ auto_vacuum: 2 }])
    }))

  it.scoped("tightens a directory and files that are open to others", () =>
    Effect.gen(function*() {
      const db = yield* sqlite
      mkdirSync(db.directory, { recursive: true, mode: 0o755 })
      chmodSync(db.directory, 0o755)
      writeFileSync(db.database, "", { mode: 0o644 })
      chmodSync(db.database, 0o644)
      const { database } = yield* open(db)
      yield* database.ready
      expect(modeOf(db.directory)).toBe(0o700)
      expect(modeOf(db.database)).toBe(0o600)
    }))

  it.scoped("refuses a database file that is a symlink, and opens once it is gone (retried in the background)", () =>
    Effect.gen(function*() {
      const db = yield* sqlite
      mkdirSync(db.directory, { recursive: true, mode: 0o700 })
      const elsewhere = join(dirname(db.directory), "elsewhere.sqlite")
      writeFileSync(elsewhere, "")
      symlinkSync(elsewhere, db.database)
      const { database, store } = yield* open(db, {
        database: { retry: Schedule.spaced("10 millis") }
      })
      const health = yield* database.health.run
      expect(health.status).toBe("degraded")
      expect(health.message).toContain("not a regular file")
      const nextId = yield* makeUlidGenerator
      const error = yield* Effect.flip(store.begin(startOf({ scan_id: yield* nextId })))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toContain("not open")
      expect(lstatSync(db.database).isSymbolicLink()).toBe(true)

      rmSync(db.database)
      // The retry schedule sleeps on the test clock: move it on until the store is open.
      yield* Effect.raceFirst(
        database.ready,
        Effect.forever(Effect.zipRight(TestClock.adjust("10 millis"), Effect.promise(() => new Promise((r) => setTimeout(r, 5)))))
      )
      yield* store.begin(startOf({ scan_id: yield* nextId }))
      expect((yield* database.health.run).status).toBe("healthy")
    }))

  it.scoped("a full disk fails the write with StoreUnavailable and degrades health", () =>
    Effect.gen(function*() {
      const db = yield* sqlite
      const { database, store } = yield* open(db)
      yield* database.ready
      // SQLite's own disk-full error (SQLITE_FULL): the file may not grow past its current size.
      yield* database.use(
        "test",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          Effect.flatMap(
            sql<{ page_count: number }>`PRAGMA page_count`,
            (rows) => sql.unsafe(`PRAGMA max_page_count = ${rows[0]!.page_count}`)
          ))
      )
      const nextId = yield* makeUlidGenerator
      const big = Array.from({ length: 50_000 }, (_, i) => `${i * 2654435761 % 4294967296}`).join(",")
      const error = yield* Effect.flip(store.finish(startOf({ scan_id: yield* nextId }), endOf({ stdout: big })))
      expect(error.message).toMatch(/full/)
      const health = yield* database.health.run
      expect(health.status).toBe("degraded")
      expect(health.message).toMatch(/full/)
    }))
})
