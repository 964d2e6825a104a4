import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import type { Caller } from "../../src/identity/Caller.js"
import { makeHarness } from "../execution/support.js"
import { testDatabases } from "./support.js"

/**
 * A client's rate limit across instances: two executors (each with its own
 * local buckets, database pool and process runner, as two server processes
 * have) over one real PostgreSQL admit together no more than the client's
 * burst; each alone would admit its own. On SQLite the buckets stay local and
 * the shared table is never written. Only the process runner is faked: no
 * packet leaves.
 */

const alice: Caller = { id: "alice", transport: "http", scopes: new Set(["execute"]) }

const limits = {
  rate_limit: { client_requests_per_minute: 1, burst: 5, tool_requests_per_minute: 1000, tool_burst: 1000, client_share: 1 }
}

const call = (h: Effect.Effect.Success<ReturnType<typeof makeHarness>>) =>
  Effect.either(h.executor.execute("NmapTool", { target: "127.0.0.1", args: ["-sT", "-p", "22"] }, alice))

const bucketRows = (h: Effect.Effect.Success<ReturnType<typeof makeHarness>>) =>
  h.database.use(
    "test",
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ key: string; tokens: number }>`SELECT key, tokens FROM rate_buckets`)
  ).pipe(Effect.orDie)

describe("rate limits shared by instances", () => {
  const [sqlite, postgres] = testDatabases

  it.scoped("on PostgreSQL two instances together admit at most the client's burst", () =>
    Effect.gen(function*() {
      const db = yield* postgres!.make
      const [a, b] = yield* Effect.all([makeHarness({ ...limits, storage: db.storage }), makeHarness({ ...limits, storage: db.storage })], {
        concurrency: "unbounded"
      })
      yield* Effect.all([a.database.ready, b.database.ready])
      const outcomes: Array<string> = []
      for (let round = 0; round < 5; round++) {
        for (const h of [a, b]) {
          const result = yield* call(h)
          outcomes.push(Either.isRight(result) ? "ran" : result.left._tag)
          if (Either.isLeft(result)) {
            expect(result.left).toMatchObject({ _tag: "RateLimited", scope: "client:alice" })
            expect(result.left.message).toContain("across the server's instances")
          }
        }
      }
      expect(outcomes.filter((o) => o === "ran")).toHaveLength(5)
      expect(outcomes.filter((o) => o === "RateLimited")).toHaveLength(5)
      expect((yield* a.fake.requests).length + (yield* b.fake.requests).length).toBe(5)
      const rows = yield* bucketRows(a)
      expect(rows.map((r) => r.key)).toEqual(["client:alice"])
      expect(Number(rows[0]!.tokens)).toBeLessThan(1)
      // The local bucket refuses first: a sixth call on one instance is refused without reaching the database.
      const local = yield* Effect.flip(
        Effect.gen(function*() {
          for (let n = 0; n < 6; n++) {
            const r = yield* call(a)
            if (Either.isLeft(r) && !r.left.message.includes("across")) return yield* Effect.fail(r.left)
          }
        })
      )
      expect(local).toMatchObject({ _tag: "RateLimited", scope: "client:alice" })
    }), 60_000)

  it.scoped("with rate_limit.shared off, or on SQLite, the buckets stay per instance", () =>
    Effect.gen(function*() {
      const pg = yield* postgres!.make
      const off = { rate_limit: { ...limits.rate_limit, shared: false }, storage: pg.storage }
      const [a, b] = yield* Effect.all([makeHarness(off), makeHarness(off)], { concurrency: "unbounded" })
      yield* Effect.all([a.database.ready, b.database.ready])
      for (let n = 0; n < 5; n++) {
        expect(Either.isRight(yield* call(a))).toBe(true)
        expect(Either.isRight(yield* call(b))).toBe(true)
      }
      expect(yield* bucketRows(a)).toEqual([])

      const lite = yield* sqlite!.make
      const one = yield* makeHarness({ ...limits, storage: lite.storage })
      yield* one.database.ready
      for (let n = 0; n < 5; n++) expect(Either.isRight(yield* call(one))).toBe(true)
      expect(yield* bucketRows(one)).toEqual([])
    }), 60_000)
})
