import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Effect, Exit, Layer, Metric, Option, Scope } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { Database } from "../../src/storage/Database.js"
import { storeFailures } from "../../src/storage/metrics.js"
import { OperatorState } from "../../src/storage/OperatorState.js"
import { coalesced, ScanRecorder } from "../../src/storage/ScanRecorder.js"
import { ScanStore, type ScanStoreService } from "../../src/storage/ScanStore.js"
import { StorageLive } from "../../src/storage/StorageLive.js"
import { endOf, startOf, storageLayer, testConfig, testDatabases } from "./support.js"

const sqlite = testDatabases.find((d) => d.name === "sqlite")!.make
const admin = { callerId: "ops", admin: true }
const { scan_id: _id, started_at_ms: _at, ...input } = startOf({ scan_id: "" })

const build = <A, E>(layer: Layer.Layer<A, E>) => Effect.map(Layer.build(layer), (context) => context)

/**
 * A recorder with a queue of `capacity` over the real store of a new SQLite
 * database, its calls changed by `wrap`: the real store, the store the
 * recorder's context gives (it reads what is queued from memory), and the database.
 */
const recorderOver = (wrap: (real: ScanStoreService) => ScanStoreService, capacity?: number) =>
  Effect.gen(function*() {
    const stored = yield* build(storageLayer((yield* testConfig(yield* sqlite)).layer))
    const database = Context.get(stored, Database)
    yield* database.ready
    const real = Context.get(stored, ScanStore)
    const context = yield* build(
      ScanRecorder.layer(capacity === undefined ? undefined : { capacity }).pipe(
        Layer.provide(Layer.succeed(ScanStore, wrap(real))),
        Layer.provide(Layer.succeed(Database, database))
      )
    )
    return { database, real, recorder: Context.get(context, ScanRecorder), store: Context.get(context, ScanStore) }
  })

describe("ScanRecorder", { timeout: 20_000 }, () => {
  it.scoped("writes in the background, in order: the id at once, the result once flushed", () =>
    Effect.gen(function*() {
      const config = yield* testConfig(yield* sqlite)
      const context = yield* build(storageLayer(config.layer))
      const recorder = Context.get(context, ScanRecorder)
      const store = Context.get(context, ScanStore)
      yield* Context.get(context, Database).ready
      const scanId = Option.getOrThrow(yield* recorder.begin({ ...input, target: "127.0.0.7" }))
      yield* recorder.finish(scanId, endOf({ summary: "done" }))
      yield* recorder.flush
      const record = yield* store.get(scanId, admin)
      expect(record).toMatchObject({ scan_id: scanId, target: "127.0.0.7", outcome: "succeeded", summary: "done" })
      // A second finish of the same scan is ignored, not written over the first.
      yield* recorder.finish(scanId, endOf({ summary: "again" }))
      yield* recorder.flush
      expect((yield* store.get(scanId, admin)).summary).toBe("done")
    }))

  it.scoped("drains its queue when the server stops", () =>
    Effect.gen(function*() {
      const db = yield* sqlite
      const config = yield* testConfig(db)
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(storageLayer(config.layer), scope)
      yield* Context.get(context, Database).ready
      const recorder = Context.get(context, ScanRecorder)
      const scanId = Option.getOrThrow(yield* recorder.begin(input))
      yield* recorder.finish(scanId, endOf())
      yield* Scope.close(scope, Exit.void)
      const reopened = yield* build(storageLayer((yield* testConfig(db)).layer))
      expect((yield* Context.get(reopened, ScanStore).get(scanId, admin)).outcome).toBe("succeeded")
    }))

  it.scoped("drops what does not fit in its queue, counts it and degrades health, without ever waiting", () =>
    Effect.gen(function*() {
      const entered = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      const { database, recorder } = yield* recorderOver(
        (real) => ({ ...real, begin: () => Effect.zipRight(Deferred.succeed(entered, undefined), Deferred.await(release)) }),
        2
      )
      const dropped = Effect.map(Metric.value(Metric.tagged(storeFailures, "operation", "queue_full")), (s) => s.count)
      const before = yield* dropped
      yield* database.health.run
      // One job being written, two waiting: the fourth and fifth begin are dropped.
      yield* recorder.begin(input)
      yield* Deferred.await(entered)
      for (let i = 0; i < 4; i++) yield* recorder.begin(input)
      expect(yield* dropped).toBe(before + 2)
      const health = yield* database.health.run
      expect(health.status).toBe("degraded")
      expect(health.message).toContain("write queue is full")
      yield* Deferred.succeed(release, undefined)
      yield* recorder.flush
    }))

  it.scoped("writes a call that ends within the gathering window once, whole, with no running row first", () =>
    Effect.gen(function*() {
      const calls: Array<string> = []
      const { real, recorder } = yield* recorderOver((real) => ({
        ...real,
        begin: (start) => Effect.zipRight(Effect.sync(() => calls.push(`begin ${start.scan_id}`)), real.begin(start)),
        finish: (start, end) => Effect.zipRight(Effect.sync(() => calls.push(`finish ${start.scan_id}`)), real.finish(start, end))
      }))
      const quick = Option.getOrThrow(yield* recorder.begin(input))
      yield* recorder.finish(quick, endOf({ summary: "quick" }))
      yield* recorder.flush
      const slow = Option.getOrThrow(yield* recorder.begin(input))
      yield* recorder.flush
      yield* recorder.finish(slow, endOf({ summary: "slow" }))
      yield* recorder.flush
      expect(calls).toEqual([`finish ${quick}`, `begin ${slow}`, `finish ${slow}`])
      expect((yield* real.get(quick, admin)).summary).toBe("quick")
      expect((yield* real.get(slow, admin)).summary).toBe("slow")
    }))

  it.scoped("writes a finish after the turn that queued it (the caller answers first), read from memory meanwhile", () =>
    Effect.gen(function*() {
      const finishes: Array<string> = []
      const { real, recorder, store } = yield* recorderOver((real) => ({
        ...real,
        finish: (start, end) => Effect.zipRight(Effect.sync(() => finishes.push(start.scan_id)), real.finish(start, end))
      }))
      const scanId = Option.getOrThrow(yield* recorder.begin(input))
      yield* recorder.flush
      yield* recorder.finish(scanId, endOf({ summary: "done" }))
      // The rest of the caller's turn (fibers yielding on microtasks included) runs before the write starts.
      for (let i = 0; i < 100; i++) yield* Effect.yieldNow()
      expect(finishes).toEqual([])
      expect((yield* store.get(scanId, admin)).summary).toBe("done")
      yield* recorder.flush
      expect(finishes).toEqual([scanId])
      expect((yield* real.get(scanId, admin)).summary).toBe("done")
    }))
})

describe("coalesced", () => {
  it("leaves out a begin whose finish is in the same batch, keeping the order of the rest", () => {
    const [a, b, c] = ["a", "b", "c"].map((scan_id) => startOf({ scan_id }))
    const end = { ...endOf(), finished_at_ms: 1 }
    const jobs = [
      { _tag: "Begin", start: a! },
      { _tag: "Begin", start: b! },
      { _tag: "Finish", start: a!, end },
      { _tag: "Begin", start: c! }
    ] as const
    expect(coalesced(jobs)).toEqual({ write: [jobs[1], jobs[2], jobs[3]], skip: [jobs[0]] })
    expect(coalesced([jobs[2]])).toEqual({ write: [jobs[2]], skip: [] })
  })
})

describe("storage disabled", () => {
  it.scoped("keeps nothing: no scan ids, store calls say it is disabled, health is fine", () =>
    Effect.gen(function*() {
      const context = yield* build(
        StorageLive({ configFile: undefined }).pipe(Layer.provideMerge(ConfigService.layerWith({ storage: { enabled: false } })))
      )
      const database = Context.get(context, Database)
      expect(database.enabled).toBe(false)
      expect(Option.isNone(yield* Context.get(context, ScanRecorder).begin(input))).toBe(true)
      const error = yield* Effect.flip(Context.get(context, ScanStore).list({}, admin))
      expect(error._tag).toBe("StoreUnavailable")
      expect(error.message).toContain("storage.enabled: false")
      expect((yield* database.health.run).status).toBe("healthy")
      const operator = Context.get(context, OperatorState)
      yield* operator.set("NmapTool", { enabled: false }, "ops")
      expect(yield* operator.list).toEqual([])
    }))
})
