import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Duration, Effect, Layer, Metric, Option } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { RateLimited } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import { rateLimited } from "../observability/metrics.js"
import { Database } from "./Database.js"

/**
 * The clients' token buckets shared by every instance on one PostgreSQL:
 * one row per client in `rate_buckets`, refilled and taken from in one
 * atomic statement by the database's own clock (no instance's clock, no
 * read-then-write race between instances). A call reaches it only after
 * its instance's own bucket (resilience/RateLimiter) admitted it: a flood
 * is refused locally without a database round trip, and the instances
 * together admit no more than one client's burst and rate. SQLite (one
 * process) and no store keep the local buckets only. A database that does
 * not answer in time fails open to the local limit: the store being slow
 * must not stop the calls the local limit allows.
 */

export interface SharedRateLimitsService {
  /** Takes one token of the client's shared bucket (PostgreSQL and `rate_limit.shared` only; otherwise admits). */
  readonly take: (caller: Caller) => Effect.Effect<void, RateLimited>
}

/** How long a call waits for the shared bucket before it goes on under the local limit alone. */
const ANSWER_WITHIN = Duration.seconds(2)

const NOW = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"

/** The refilled tokens of an existing row, as SQL over `b`: the stored tokens plus the rate since, never above the burst. */
const refilled = (perSecond: number, burst: number) =>
  `LEAST(${burst}::double precision, b.tokens + GREATEST(0, ${NOW} - b.updated_s) * ${perSecond}::double precision)`

/**
 * One token from the bucket `key`, or none: a missing row starts full; the
 * update's condition refuses a bucket with less than one token, so no row
 * comes back. The numbers are the configuration's, validated and bounded,
 * never a caller's.
 */
const takeShared = (key: string, perMinute: number, burst: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const perSecond = perMinute / 60
    const taken = yield* sql`INSERT INTO rate_buckets AS b (key, tokens, updated_s)
      VALUES (${key}, ${burst - 1}, ${sql.literal(NOW)})
      ON CONFLICT (key) DO UPDATE SET tokens = ${sql.literal(refilled(perSecond, burst))} - 1, updated_s = ${sql.literal(NOW)}
      WHERE ${sql.literal(refilled(perSecond, burst))} >= 1
      RETURNING tokens`
    if (taken.length > 0) return Option.none<number>()
    const [row] = yield* sql<{ tokens: number | string }>`SELECT ${sql.literal(refilled(perSecond, burst))} AS tokens
      FROM rate_buckets b WHERE key = ${key}`
    const tokens = Number(row?.tokens ?? 0)
    return Option.some(Math.ceil(((1 - tokens) / perSecond) * 1000 - 1e-6) / 1000)
  })

export class SharedRateLimits extends Context.Tag("security-mcp/SharedRateLimits")<SharedRateLimits, SharedRateLimitsService>() {
  static readonly layer: Layer.Layer<SharedRateLimits, never, Database | ConfigService> = Layer.effect(
    SharedRateLimits,
    Effect.gen(function*() {
      const db = yield* Database
      const config = yield* ConfigService
      if (!db.enabled || db.info.backend !== "postgres") return { take: () => Effect.void }
      const take = (caller: Caller) =>
        Effect.gen(function*() {
          const limits = (yield* config.get).rate_limit
          // stdio has one client, its own process: nothing to share.
          if (!limits.enabled || !limits.shared || caller.transport === "stdio") return
          const key = `client:${caller.id}`
          const refused = yield* db.use("rate_limit", takeShared(key, limits.client_requests_per_minute, limits.burst)).pipe(
            Effect.timeout(ANSWER_WITHIN),
            Effect.catchAll((error) =>
              Effect.as(
                Effect.logWarning(`rate limit: the shared bucket of ${key} was not taken (${error.message}); the local limit applies`),
                Option.none<number>()
              )
            )
          )
          if (Option.isNone(refused)) return
          yield* Metric.increment(Metric.tagged(rateLimited, "scope", "client"))
          return yield* new RateLimited({
            scope: key,
            retryAfterSeconds: refused.value,
            message:
              `Rate limit of ${limits.client_requests_per_minute} calls per minute exceeded for ${key} across the server's instances; retry in ${refused.value} s`
          })
        })
      return { take }
    })
  )
}
