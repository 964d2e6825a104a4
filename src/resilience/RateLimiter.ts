import { Context, Effect, HashMap, Layer, Metric, Option, Ref } from "effect"
import { RateLimited } from "../errors.js"
import { monotonicMillis } from "../monotonic.js"
import { rateLimited } from "../observability/metrics.js"

export interface Bucket {
  readonly tokens: number
  readonly updatedAt: number
  readonly perMinute: number
  readonly burst: number
}

export type TakeResult =
  | { readonly _tag: "Taken"; readonly bucket: Bucket }
  | { readonly _tag: "Rejected"; readonly bucket: Bucket; readonly retryAfterSeconds: number }

const perMilli = (perMinute: number) => perMinute / 60_000

/** Tokens in `bucket` at `now`: refilled at the bucket's rate, never above its burst. */
export const refill = (bucket: Bucket, now: number): number =>
  Math.min(bucket.burst, bucket.tokens + Math.max(0, now - bucket.updatedAt) * perMilli(bucket.perMinute))

/**
 * Takes one token. A missing bucket starts full. The rate and burst of the
 * call replace the stored ones, so a reloaded limit applies to the next call.
 */
export const takeToken = (previous: Bucket | undefined, now: number, perMinute: number, burst: number): TakeResult => {
  const tokens = previous === undefined ? burst : Math.min(burst, refill({ ...previous, perMinute, burst }, now))
  if (tokens >= 1) return { _tag: "Taken", bucket: { tokens: tokens - 1, updatedAt: now, perMinute, burst } }
  const bucket = { tokens, updatedAt: now, perMinute, burst }
  // Rounded up to the millisecond; the epsilon keeps float noise (600.0000001 ms) from adding one.
  const waitMillis = Math.ceil((1 - tokens) / perMilli(perMinute) - 1e-6)
  return { _tag: "Rejected", bucket, retryAfterSeconds: waitMillis / 1000 }
}

/** A bucket that has refilled completely behaves exactly like a missing one, so it can be dropped. */
export const isIdle = (bucket: Bucket, now: number): boolean => refill(bucket, now) >= bucket.burst

/** How often (clock milliseconds) the idle buckets are swept, at the next `take` after the interval. */
export const SWEEP_INTERVAL_MS = 60_000

export interface BucketSpec {
  readonly key: string
  readonly perMinute: number
  readonly burst: number
}

interface Buckets {
  readonly map: HashMap.HashMap<string, Bucket>
  readonly sweptAt: number
}

/** The label of `mcp_rate_limited_total`: the part of the key before the first `:`, so client ids stay out of the metric. */
export const scopeOf = (key: string): string => {
  const colon = key.indexOf(":")
  return colon === -1 ? key : key.slice(0, colon)
}

/**
 * Token buckets keyed by what is limited, e.g. `tool:nmap` or `client:<api key id>`.
 * Memory stays bounded by the keys active within one refill period: buckets that
 * have filled up again are dropped by a periodic sweep.
 */
export class RateLimiter extends Context.Tag("security-mcp/RateLimiter")<
  RateLimiter,
  {
    readonly take: (key: string, perMinute: number, burst: number) => Effect.Effect<void, RateLimited>
    /**
     * Takes a token from each bucket, or from none: refused by one, the call
     * costs the others nothing (a client's share of a tool is not spent on a
     * call the tool's own bucket refuses).
     */
    readonly takeAll: (buckets: ReadonlyArray<BucketSpec>) => Effect.Effect<void, RateLimited>
    /** Buckets held in memory now. */
    readonly size: Effect.Effect<number>
  }
>() {
  static readonly make = Effect.gen(function*() {
    const state = yield* Ref.make<Buckets>({ map: HashMap.empty(), sweptAt: yield* monotonicMillis })

    const takeAll = (specs: ReadonlyArray<BucketSpec>) =>
      Effect.gen(function*() {
        const now = yield* monotonicMillis
        const refused = yield* Ref.modify(state, (s): readonly [readonly [BucketSpec, number] | undefined, Buckets] => {
          const swept = now - s.sweptAt >= SWEEP_INTERVAL_MS
            ? { map: HashMap.filter(s.map, (b) => !isIdle(b, now)), sweptAt: now }
            : s
          let map = swept.map
          for (const spec of specs) {
            const r = takeToken(Option.getOrUndefined(HashMap.get(swept.map, spec.key)), now, spec.perMinute, spec.burst)
            if (r._tag === "Rejected") return [[spec, r.retryAfterSeconds], swept]
            map = HashMap.set(map, spec.key, r.bucket)
          }
          return [undefined, { ...swept, map }]
        })
        if (refused === undefined) return
        const [{ key, perMinute }, retryAfterSeconds] = refused
        yield* Metric.increment(Metric.tagged(rateLimited, "scope", scopeOf(key)))
        return yield* new RateLimited({
          scope: key,
          retryAfterSeconds,
          message: `Rate limit of ${perMinute} calls per minute exceeded for ${key}; retry in ${retryAfterSeconds} s`
        })
      })

    return RateLimiter.of({
      take: (key, perMinute, burst) => takeAll([{ key, perMinute, burst }]),
      takeAll,
      size: Effect.map(Ref.get(state), (s) => HashMap.size(s.map))
    })
  })

  static readonly layer = Layer.effect(RateLimiter, RateLimiter.make)
}
