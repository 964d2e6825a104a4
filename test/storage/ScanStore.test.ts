import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Exit, Layer, Metric, Option, Schema, Scope, TestClock, TestServices } from "effect"
import { gzipSync } from "node:zlib"
import { ExecutionResult } from "../../src/execution/ToolExecutor.js"
import { Database } from "../../src/storage/Database.js"
import { storeFailures } from "../../src/storage/metrics.js"
import { OperatorState } from "../../src/storage/OperatorState.js"
import { executionBody, ScanRecord, type Viewer } from "../../src/storage/ScanRecord.js"
import { ScanRecorder } from "../../src/storage/ScanRecorder.js"
import { ScanStore } from "../../src/storage/ScanStore.js"
import type { StorageOptions } from "../../src/storage/StorageLive.js"
import { makeUlidGenerator } from "../../src/storage/ulid.js"
import { endOf, startOf, storageLayer, testConfig, type TestDatabase, testDatabases } from "./support.js"

const keyA: Viewer = { callerId: "key-a", admin: false }
const keyB: Viewer = { callerId: "key-b", admin: false }
const admin: Viewer = { callerId: "ops", admin: true }

type Patch = Parameters<typeof testConfig>[1]

/** The storage services over `db`, open for the current scope; `configure` changes their configuration. */
const open = (db: TestDatabase, patch: Patch = {}, options: Partial<StorageOptions> = {}) =>
  Effect.gen(function*() {
    const config = yield* testConfig(db, patch)
    const context = yield* Layer.build(storageLayer(config.layer, options))
    const database = Context.get(context, Database)
    yield* database.ready
    return {
      database,
      configure: config.set,
      store: Context.get(context, ScanStore),
      recorder: Context.get(context, ScanRecorder),
      operator: Context.get(context, OperatorState)
    }
  })

/** Opens the services in a scope of their own: `close` is a graceful stop, leaving it open and killing its connections a crash. */
const openScoped = (db: TestDatabase, patch: Patch = {}) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    const services = yield* open(db, patch).pipe(Scope.extend(scope))
    return { ...services, close: Scope.close(scope, Exit.void) }
  })

/** What a server that died leaves behind: PostgreSQL sees its connections drop. SQLite needs nothing: one process per file. */
const crash = (db: TestDatabase, instanceId: string) =>
  db.name === "postgres"
    ? db.admin((sql) =>
      sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${`security-mcp-server ${instanceId}`}`
    )
    : Effect.void

/** Makes the database refuse writes: SQLite read-only, PostgreSQL refusing every connection of the test role. */
const breakWrites = (db: TestDatabase, database: Database["Type"]) =>
  db.name === "postgres"
    ? db.admin((sql) =>
      Effect.zipRight(
        sql.unsafe(`ALTER DATABASE ${db.database} CONNECTION LIMIT 0`),
        sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${db.database}`
      )
    )
    : Effect.orDie(database.use("test", Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe("PRAGMA query_only = 1"))))

const repair = (db: TestDatabase, database: Database["Type"]) =>
  db.name === "postgres"
    ? db.admin((sql) => sql.unsafe(`ALTER DATABASE ${db.database} CONNECTION LIMIT -1`))
    : Effect.orDie(database.use("test", Effect.flatMap(SqlClient.SqlClient, (sql) => sql.unsafe("PRAGMA query_only = 0"))))

const failuresOf = (operation: string) =>
  Effect.map(Metric.value(Metric.tagged(storeFailures, "operation", operation)), (state) => state.count)

/**
 * Polls until `check` holds, sleeping on the real clock between attempts and
 * running `tick` (e.g. moving the test clock on: with PostgreSQL a round's
 * I/O completes on its own time, after the test clock has already moved).
 */
const eventually = <A>(check: Effect.Effect<A, unknown>, holds: (a: A) => boolean, tick: Effect.Effect<void> = Effect.void) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 1000; attempt++) {
      const value = yield* Effect.either(check)
      if (Either.isRight(value) && holds(value.right)) return value.right
      yield* TestServices.liveWith((live) => live.provide(Effect.sleep("20 millis")))
      yield* tick
    }
    return yield* Effect.dieMessage("condition never held")
  })

// Several instances, a database created and dropped per test: generous on a shared, loaded machine.
describe.each(testDatabases)("scan store on $name", { timeout: 30_000 }, ({ make }) => {
  it.scoped("stores a running scan, then its result, and reads both back", () =>
    Effect.gen(function*() {
      const db = yield* make
      const { store } = yield* open(db)
      const nextId = yield* makeUlidGenerator
      const start = startOf({ scan_id: yield* nextId, template: "quick", notes: ["pinned 127.0.0.1"] })
      yield* store.begin(start)
      const running = yield* store.get(start.scan_id, keyA)
      expect(running).toMatchObject({
        scan_id: start.scan_id,
        outcome: "running",
        finished_at: null,
        structured: null,
        argv: start.argv,
        template: "quick"
      })
      expect(running.started_at).toBe(new Date(start.started_at_ms).toISOString())

      const stdout = "<nmaprun>" + "<host/>".repeat(5000) + "</nmaprun>"
      const end = endOf({ stdout, stderr: "warning: x\n", notes: ["pinned 127.0.0.1", "done"] })
      yield* store.finish(start, end)
      const record = yield* store.get(start.scan_id, keyA)
      expect(Schema.is(ScanRecord)(record)).toBe(true)
      expect(record).toMatchObject({
        outcome: "succeeded",
        returncode: 0,
        execution_time: 1.5,
        parse_status: "complete",
        summary: end.summary,
        structured: end.structured,
        notes: ["pinned 127.0.0.1", "done"],
        stdout_bytes: stdout.length,
        stderr_bytes: 11,
        finished_at: new Date(end.finished_at_ms).toISOString()
      })
      // Outputs are stored compressed.
      expect(record.stored_bytes).toBeLessThan(stdout.length / 10)
      const raw = yield* store.raw(start.scan_id, keyA)
      expect(raw).toEqual({ scan_id: start.scan_id, stdout, stderr: "warning: x\n", truncated_stdout: false, truncated_stderr: false })

      // GET /scans/{id}: the execute response body plus scan_id and stored_at.
      const body = executionBody(record, raw)
      expect(Schema.decodeUnknownEither(ExecutionResult)(body)._tag).toBe("Right")
      expect(body).toMatchObject({ scan_id: start.scan_id, stored_at: record.stored_at, stdout, metadata: { argv: start.argv } })
    }))

  it.scoped("reads the gzip outputs of rows an earlier version wrote; an unknown codec is an error, not a guess", () =>
    Effect.gen(function*() {
      const db = yield* make
      const { database, store } = yield* open(db)
      const nextId = yield* makeUlidGenerator
      const start = startOf({ scan_id: yield* nextId })
      const stdout = "<nmaprun>" + "<host/>".repeat(500) + "</nmaprun>"
      const end = endOf({ stdout, stderr: "warning: y\n" })
      yield* store.finish(start, end)
      const written = yield* store.get(start.scan_id, keyA)
      // What a server before Brotli stored: gzip blobs, and the column's default.
      const setBlobs = (codec: string) =>
        Effect.orDie(database.use(
          "test",
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql`UPDATE scans SET blob_codec = ${codec}, stdout_gz = ${gzipSync(stdout)}, stderr_gz = ${gzipSync("warning: y\n")},
              structured_gz = ${gzipSync(JSON.stringify(end.structured))} WHERE id = ${start.scan_id}`)
        ))
      yield* setBlobs("gzip")
      expect(yield* store.get(start.scan_id, keyA)).toEqual(written)
      expect(yield* store.raw(start.scan_id, keyA)).toMatchObject({ stdout, stderr: "warning: y\n" })
      yield* setBlobs("zstd")
      const error = yield* Effect.flip(store.raw(start.scan_id, keyA))
      expect(error).toMatchObject({ _tag: "StoreUnavailable", message: expect.stringContaining("compressed as zstd") })
    }))

  it.scoped("a key reads only its own scans; an admin reads all; a missing id is ScanNotFound", () =>
    Effect.gen(function*() {
      const { store } = yield* open(yield* make)
      const nextId = yield* makeUlidGenerator
      const ofA = startOf({ scan_id: yield* nextId, caller_id: "key-a" })
      const ofB = startOf({ scan_id: yield* nextId, caller_id: "key-b" })
      yield* store.finish(ofA, endOf())
      yield* store.finish(ofB, endOf())
      const denied = yield* Effect.flip(store.get(ofB.scan_id, keyA))
      expect(denied._tag).toBe("ScanNotFound")
      expect(denied.message).toContain("admin")
      expect((yield* Effect.flip(store.raw(ofB.scan_id, keyA)))._tag).toBe("ScanNotFound")
      expect((yield* store.get(ofB.scan_id, admin)).caller_id).toBe("key-b")
      expect((yield* store.list({}, keyA)).scans.map((s) => s.scan_id)).toEqual([ofA.scan_id])
      expect((yield* store.list({ caller: "key-b" }, keyA)).scans).toEqual([])
      expect((yield* store.list({}, admin)).scans.map((s) => s.scan_id)).toEqual([ofB.scan_id, ofA.scan_id])
      expect((yield* Effect.flip(store.get("not-a-scan-id", admin)))._tag).toBe("ScanNotFound")
      expect((yield* Effect.flip(store.get(yield* nextId, admin)))._tag).toBe("ScanNotFound")
    }))

  it.scoped("lists with filters, newest first, in cursor pages", () =>
    Effect.gen(function*() {
      const { store } = yield* open(yield* make)
      const nextId = yield* makeUlidGenerator
      const day = 86_400_000
      const ids: Array<string> = []
      for (let i = 0; i < 7; i++) {
        const start = startOf({
          scan_id: yield* nextId,
          tool: i % 2 === 0 ? "NmapTool" : "PingTool",
          target: i < 3 ? "web.lab.internal" : `127.0.0.${i}`,
          resolved_target: i < 3 ? "127.0.0.9" : `127.0.0.${i}`,
          started_at_ms: 1_700_000_000_000 + i * day
        })
        ids.push(start.scan_id)
        yield* store.finish(start, endOf({ outcome: i === 6 ? "failed" : "succeeded" }))
      }
      const newest = [...ids].reverse()
      const pages: Array<ReadonlyArray<string>> = []
      let cursor: string | undefined
      do {
        const page = yield* store.list({ limit: 3, ...(cursor === undefined ? {} : { cursor }) }, admin)
        pages.push(page.scans.map((s) => s.scan_id))
        cursor = page.next_cursor ?? undefined
      } while (cursor !== undefined)
      expect(pages).toEqual([newest.slice(0, 3), newest.slice(3, 6), newest.slice(6)])

      const idsOf = (page: { scans: ReadonlyArray<{ scan_id: string }> }) => page.scans.map((s) => s.scan_id)
      expect(idsOf(yield* store.list({ tool: "PingTool" }, admin))).toEqual([ids[5], ids[3], ids[1]])
      expect(idsOf(yield* store.list({ outcome: "failed" }, admin))).toEqual([ids[6]])
      expect(idsOf(yield* store.list({ target: "127.0.0.9" }, admin))).toEqual([ids[2], ids[1], ids[0]])
      const since = new Date(1_700_000_000_000 + 2 * day).toISOString()
      const until = new Date(1_700_000_000_000 + 4 * day).toISOString()
      expect(idsOf(yield* store.list({ since, until }, admin))).toEqual([ids[3], ids[2]])
      expect(idsOf(yield* store.history("web.lab.internal", admin))).toEqual([ids[2], ids[1], ids[0]])
      expect(idsOf(yield* store.history("127.0.0.9", admin, { limit: 1 }))).toEqual([ids[2]])

      const badTime = yield* Effect.flip(store.list({ since: "yesterday" }, admin))
      expect(badTime._tag).toBe("InvalidInput")
      expect((yield* Effect.flip(store.list({ cursor: "zz" }, admin)))._tag).toBe("InvalidInput")
      expect((yield* Effect.flip(store.list({ limit: 500 }, admin)))._tag).toBe("InvalidInput")
    }))

  it.scoped("searches every word, in any case, in summary, target, address, tool and command line, across pages", () =>
    Effect.gen(function*() {
      const { store } = yield* open(yield* make)
      const nextId = yield* makeUlidGenerator
      const scan = (start: Partial<Parameters<typeof startOf>[0]>, summary: string) =>
        Effect.gen(function*() {
          const begun = startOf({ scan_id: yield* nextId, ...start })
          yield* store.finish(begun, endOf({ summary }))
          return begun.scan_id
        })
      const web = yield* scan({ target: "Web.Lab.internal", resolved_target: "127.0.0.9" }, "1 host up: tcp/443 open (https)")
      const udp = yield* scan({ argv: ["nmap", "-n", "-sU", "--script", "dns-nsid", "127.0.0.2"] }, "no host up")
      const odd = yield* scan({ argv: ["nmap", "-n", "--script-args", "x=\"a b\"", "127.0.0.3"] }, "100% of 1_000 ports filtered")
      const rest = yield* Effect.forEach(Array.from({ length: 60 }, (_, i) => i), () => scan({}, "1 host up: tcp/22 open (ssh)"))
      const found = (q: string) => Effect.map(store.list({ q }, admin), (page) => page.scans.map((s) => s.scan_id))

      expect(yield* found("LAB https")).toEqual([web])
      expect(yield* found("127.0.0.9")).toEqual([web])
      expect(yield* found("-sU DNS-nsid")).toEqual([udp])
      expect(yield* found("pingtool")).toEqual([])
      // The wildcards of LIKE match themselves; a quote in an argument is found as typed.
      expect(yield* found("100%")).toEqual([odd])
      expect(yield* found("1_000")).toEqual([odd])
      expect(yield* found("%")).toEqual([odd])
      expect(yield* found("x=\"a")).toEqual([odd])
      // Not only the page loaded: the first page of "ssh" comes from 60 matches, the last page ends with the oldest.
      const first = yield* store.list({ q: "SSH", limit: 50 }, admin)
      expect(first.scans).toHaveLength(50)
      const second = yield* store.list({ q: "SSH", limit: 50, cursor: first.next_cursor! }, admin)
      expect(second.scans.map((s) => s.scan_id)).toEqual(rest.slice(0, 10).reverse())
      expect(second.next_cursor).toBeNull()

      expect(yield* Effect.flip(store.list({ q: "a\u0000" }, admin))).toMatchObject({ _tag: "InvalidInput" })
      expect(yield* Effect.flip(store.list({ q: "a b c d e f g h i" }, admin))).toMatchObject({
        _tag: "InvalidInput",
        message: "q must have at most 8 words"
      })
      expect(yield* Effect.flip(store.list({ q: "x".repeat(201) }, admin))).toMatchObject({ _tag: "InvalidInput" })
    }))

  it.scoped("finds the previous scan of the same target and arguments", () =>
    Effect.gen(function*() {
      const { store } = yield* open(yield* make)
      const nextId = yield* makeUlidGenerator
      const scan = (overrides: Partial<Parameters<typeof startOf>[0]>, outcome: "succeeded" | "failed" = "succeeded") =>
        Effect.gen(function*() {
          const start = startOf({ scan_id: yield* nextId, ...overrides })
          yield* store.finish(start, endOf({ outcome }))
          return start.scan_id
        })
      const first = yield* scan({})
      yield* scan({ args: ["-sT", "-p", "80"] })
      yield* scan({ target: "127.0.0.2" })
      yield* scan({ caller_id: "key-b" })
      yield* scan({}, "failed")
      const latest = yield* scan({ resolved_target: "127.0.0.1", argv: ["nmap", "other"] })
      const previous = yield* store.previous(latest, keyA)
      expect(Option.map(previous, (p) => p.scan_id)).toEqual(Option.some(first))
      expect(Option.isSome(previous) && previous.value.structured).toEqual(endOf().structured)
      expect(Option.isNone(yield* store.previous(first, keyA))).toBe(true)
      const anyOutcome = yield* store.previous(latest, keyA, ["succeeded", "failed"])
      expect(Option.map(anyOutcome, (p) => p.outcome)).toEqual(Option.some("failed"))
      // An admin also sees other keys' scans of the same target and arguments.
      expect(Option.map(yield* store.previous(latest, admin), (p) => p.caller_id)).toEqual(Option.some("key-b"))
      expect((yield* Effect.flip(store.previous(latest, keyB)))._tag).toBe("ScanNotFound")
    }))

  it.scoped("the retention sweep deletes scans past the age limit on its interval, never a running one", () =>
    Effect.gen(function*() {
      const hour = 3_600_000
      // Hours pass on the test clock while PostgreSQL answers in real time: no operation may time out meanwhile.
      const { store } = yield* open(yield* make, {
        storage: { retention: { max_age_days: 1, max_scans: 0, max_bytes: 0 }, sweep_interval: 3600 }
      }, { database: { operationTimeout: "1000 days", maintenanceInterval: "1000 days" } })
      const nextId = yield* makeUlidGenerator
      const old = startOf({ scan_id: yield* nextId, started_at_ms: 0 })
      const recent = startOf({ scan_id: yield* nextId, started_at_ms: 20 * hour })
      const running = startOf({ scan_id: yield* nextId, started_at_ms: 0 })
      yield* store.finish(old, endOf())
      yield* store.finish(recent, endOf())
      yield* store.begin(running)
      yield* TestClock.adjust("23 hours")
      expect((yield* store.list({}, admin)).scans).toHaveLength(3)
      const left = yield* eventually(
        Effect.map(store.list({}, admin), (page) => page.scans.map((s) => s.scan_id)),
        (ids) => !ids.includes(old.scan_id),
        TestClock.adjust("20 minutes")
      )
      expect(left).toEqual([running.scan_id, recent.scan_id])
    }))

  it.scoped("the retention sweep keeps the newest max_scans, and the newest within max_bytes", () =>
    Effect.gen(function*() {
      const { configure, store } = yield* open(yield* make)
      const nextId = yield* makeUlidGenerator
      const running = startOf({ scan_id: yield* nextId })
      yield* store.begin(running)
      const ids: Array<string> = []
      for (let i = 0; i < 6; i++) {
        const start = startOf({ scan_id: yield* nextId })
        ids.push(start.scan_id)
        // Distinct text per scan, so each compresses to a similar, non-trivial size.
        yield* store.finish(start, endOf({ stdout: Array.from({ length: 400 }, (_, j) => `${i}:${j * 7919}`).join(" ") }))
      }
      yield* configure({ storage: { retention: { max_age_days: 0, max_scans: 4, max_bytes: 0 } } })
      expect(yield* store.sweep).toEqual({ max_age: 0, max_scans: 2, max_bytes: 0 })
      const afterCount = (yield* store.list({}, admin)).scans
      // The running scan is the oldest, and stays.
      expect(afterCount.map((s) => s.scan_id)).toEqual([ids[5], ids[4], ids[3], ids[2], running.scan_id])

      const newestTwo = afterCount[0]!.stored_bytes + afterCount[1]!.stored_bytes
      expect(newestTwo).toBeGreaterThan(1000)
      yield* configure({ storage: { retention: { max_scans: 0, max_bytes: newestTwo + 1 } } })
      expect(yield* store.sweep).toEqual({ max_age: 0, max_scans: 0, max_bytes: 2 })
      expect((yield* store.list({}, admin)).scans.map((s) => s.scan_id)).toEqual([ids[5], ids[4], running.scan_id])
    }))

  it.scoped("a scan left running by a crashed server is interrupted at the next start-up; a late finish still counts", () =>
    Effect.gen(function*() {
      const db = yield* make
      const nextId = yield* makeUlidGenerator
      const first = yield* openScoped(db)
      const start = startOf({ scan_id: yield* nextId })
      yield* first.store.begin(start)
      yield* crash(db, first.database.instanceId)
      const second = yield* open(db)
      const interrupted = yield* second.store.get(start.scan_id, admin)
      expect(interrupted.outcome).toBe("interrupted")
      expect(interrupted.error).toContain("crash")
      expect(interrupted.finished_at).not.toBeNull()
      // The first server was alive after all (a dropped connection): its result replaces the interruption.
      yield* first.store.finish(start, endOf())
      expect((yield* second.store.get(start.scan_id, admin)).outcome).toBe("succeeded")
    }))

  it.scoped("a graceful stop marks the scans still running interrupted", () =>
    Effect.gen(function*() {
      const db = yield* make
      const nextId = yield* makeUlidGenerator
      const first = yield* openScoped(db)
      const done = startOf({ scan_id: yield* nextId })
      const unfinished = startOf({ scan_id: yield* nextId })
      yield* first.store.finish(done, endOf())
      yield* first.store.begin(unfinished)
      yield* first.close
      const { store } = yield* open(db)
      expect((yield* store.get(done.scan_id, admin)).outcome).toBe("succeeded")
      const stopped = yield* store.get(unfinished.scan_id, admin)
      expect(stopped.outcome).toBe("interrupted")
      expect(stopped.error).toContain("shut down")
    }))

  it.scoped("a failing database fails store calls with StoreUnavailable and degrades health, never the scan path", () =>
    Effect.gen(function*() {
      const db = yield* make
      const { database, recorder, store } = yield* open(db)
      expect((yield* database.health.run).status).toBe("healthy")
      const before = yield* failuresOf("begin")
      yield* breakWrites(db, database)

      const nextId = yield* makeUlidGenerator
      const error = yield* Effect.flip(store.begin(startOf({ scan_id: yield* nextId })))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toMatch(/^begin failed: .+ Check that/)
      expect(yield* failuresOf("begin")).toBe(before + 1)

      // What the executor does: an id at once, and nothing waits on or fails with the database.
      const { scan_id: _, started_at_ms: __, ...input } = startOf({ scan_id: "" })
      const scanId = yield* recorder.begin(input)
      expect(Option.isSome(scanId)).toBe(true)
      yield* recorder.finish(Option.getOrThrow(scanId), endOf())
      yield* recorder.flush
      expect(yield* failuresOf("finish")).toBeGreaterThan(0)

      const health = yield* database.health.run
      expect(health.status).toBe("degraded")
      expect(health.message).toContain("Check that")
      yield* repair(db, database)
      yield* eventually(database.health.run, (h) => h.status === "healthy")
      yield* store.begin(startOf({ scan_id: yield* nextId }))
    }))

  it.scoped("operator switches survive a restart", () =>
    Effect.gen(function*() {
      const db = yield* make
      const first = yield* openScoped(db)
      yield* first.operator.set("NmapTool", { enabled: false }, "ops")
      yield* first.operator.set("MasscanTool", { circuit: "open" }, "ops")
      yield* first.operator.set("PingTool", { enabled: false }, "ops")
      yield* first.operator.set("PingTool", { enabled: null }, "ops")
      yield* first.close
      const { operator } = yield* open(db)
      const switches = yield* operator.list
      expect(switches.map(({ updated_at: _, ...rest }) => rest)).toEqual([
        { tool: "MasscanTool", enabled: null, circuit: "open", updated_by: "ops" },
        { tool: "NmapTool", enabled: false, circuit: null, updated_by: "ops" }
      ])
      yield* operator.set("NmapTool", { circuit: "open" }, "admin-2")
      const nmap = (yield* operator.list).find((s) => s.tool === "NmapTool")
      expect(nmap).toMatchObject({ enabled: false, circuit: "open", updated_by: "admin-2" })
    }))

  it.scoped("two changes of one tool's switches at once, from two instances, keep both", () =>
    Effect.gen(function*() {
      const db = yield* make
      const first = yield* open(db)
      const second = yield* open(db)
      // Connections open first, so that the two changes really overlap instead of one waiting for a new connection.
      yield* Effect.all([first.operator.list, first.operator.list, second.operator.list, second.operator.list], {
        concurrency: "unbounded"
      })
      for (let round = 0; round < 5; round++) {
        const tool = `Tool${round}`
        yield* Effect.all([
          first.operator.set(tool, { enabled: false }, "ops-a"),
          second.operator.set(tool, { circuit: "open" }, "ops-b")
        ], { concurrency: 2 })
        expect((yield* first.operator.list).find((s) => s.tool === tool)).toMatchObject({ enabled: false, circuit: "open" })
      }
    }))

  it.scoped("migrations run once; reopening finds them applied", () =>
    Effect.gen(function*() {
      const db = yield* make
      const first = yield* openScoped(db)
      yield* first.close
      const { database } = yield* open(db)
      const applied = yield* database.use(
        "test",
        Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT migration_id, name FROM schema_migrations ORDER BY migration_id`)
      )
      expect(applied.map((row) => [Number(row["migration_id"]), row["name"]])).toEqual([
        [1, "scans"],
        [2, "operator_switches"],
        [3, "approvals"],
        [4, "schedules"],
        [5, "standing_approvals"],
        [6, "blob_codec"],
        [7, "instance_server"]
      ])
    }))
})
