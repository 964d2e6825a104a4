import { Context, Effect, Layer, Schema, type Stream, SubscriptionRef } from "effect"
import { AppConfig, defaults } from "./schema.js"

/**
 * The effective configuration. Consumers read `get` at the moment they need a
 * value, so a hot reload applies to the next call without restarting anything.
 */
export class ConfigService extends Context.Tag("security-mcp/ConfigService")<
  ConfigService,
  {
    readonly get: Effect.Effect<AppConfig>
    /**
     * What `get` would give, read without an effect: for a path that answers
     * without running a fiber (the HTTP server's Node lane). Absent from
     * implementations that cannot read it synchronously; their callers take
     * the effect path.
     */
    readonly current?: () => AppConfig
    readonly changes: Stream.Stream<AppConfig>
  }
>() {
  /** A fixed configuration built from the defaults with `patch` applied section by section; for tests and embedding. */
  static readonly layerWith = (patch: DeepPartial<typeof AppConfig.Encoded> = {}) =>
    Layer.effect(
      ConfigService,
      Effect.gen(function*() {
        const config = Schema.decodeUnknownSync(AppConfig)(mergeDeep(defaults, patch))
        const ref = yield* SubscriptionRef.make(config)
        // Nothing sets the ref but this layer: the configuration stays `config`.
        return { get: SubscriptionRef.get(ref), current: () => config, changes: ref.changes }
      })
    )
}

export type DeepPartial<T> = T extends ReadonlyArray<any> ? T
  : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
  : T

export const isPlainObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** Objects merge key by key; arrays and scalars in `patch` replace. */
export const mergeDeep = (base: unknown, patch: unknown): any => {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch === undefined ? base : patch
  const out: Record<string, unknown> = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    out[key] = mergeDeep(base[key], value)
  }
  return out
}
