import { Context, Deferred, Duration, Effect, FiberId, Layer } from "effect"
import { promises as dns } from "node:dns"
import { TargetRejected } from "../errors.js"
import { monotonicMillis } from "../monotonic.js"

/**
 * Name resolution for target pinning. Names are resolved once, by the server,
 * so the tool is handed an address that was checked, never a name that could
 * resolve differently a moment later.
 *
 * The system resolver (getaddrinfo) runs on libuv's small thread pool, which
 * file I/O (the audit log) shares, and a lookup that stalls holds its thread
 * until the OS gives up, long after our timeout. So one client must not be
 * able to fill it: each client has a few lookups in flight at most (counted
 * until the OS call returns, not until our timeout), all clients together a
 * few less than the pool, a name being looked up is looked up once for all
 * who ask, and answers are kept briefly (failures and timeouts too), so
 * asking again for a stalling name costs nothing.
 */

/** Per call, from the live configuration (`security.dns_*`). */
export interface LookupOptions {
  /** Who asks: lookups in flight are counted per client. */
  readonly client?: string
  /** Lookups `client` may have in flight; more wait their turn within the timeout. */
  readonly perClient?: number
  /** Seconds an answer is reused; 0 for none. */
  readonly cacheSeconds?: number
  /** Seconds a failure (no such name, timeout) is repeated without a lookup; 0 for none. */
  readonly negativeCacheSeconds?: number
}

export interface ResolverService {
  /** Every address the name resolves to, in resolver order; fails when there is none. */
  readonly lookup: (name: string, options?: LookupOptions) => Effect.Effect<ReadonlyArray<string>, TargetRejected>
}

/** The OS lookup: every address of `name`, or a rejection with why. */
export type SystemLookup = (name: string) => Promise<ReadonlyArray<string>>

export interface ResolverOptions {
  /** Longest a call waits for its answer, its turn included. */
  readonly timeout?: Duration.DurationInput
  /** OS lookups in flight at most, all clients together: fewer than libuv's 4 threads, so file I/O keeps one. */
  readonly maxInFlight?: number
  /** Cached names at most; the oldest entry goes first. */
  readonly maxCacheEntries?: number
}

const unresolvable = (name: string, why: string) =>
  new TargetRejected({ target: name, rule: "unresolvable", message: `${name} could not be resolved: ${why}` })

const systemLookup: SystemLookup = (name) =>
  dns.lookup(name, { all: true, verbatim: true }).then((entries) => entries.map((entry) => entry.address))

type Answer = { readonly _tag: "Right"; readonly addresses: ReadonlyArray<string> } | {
  readonly _tag: "Left"
  readonly error: TargetRejected
}

interface Waiter {
  readonly client: string
  readonly wake: Deferred.Deferred<void>
}

/** OS lookups in flight, in all and per client: a slot is held from the start of a lookup until the OS answers. */
const makeSlots = (maxInFlight: number) => {
  const byClient = new Map<string, number>()
  let inFlight = 0
  let waiters: Array<Waiter> = []

  const release = (client: string) => {
    inFlight -= 1
    const left = (byClient.get(client) ?? 1) - 1
    if (left === 0) byClient.delete(client)
    else byClient.set(client, left)
    // Everyone waiting tries again; few ever wait, and each re-checks its own client's count.
    const woken = waiters
    waiters = []
    for (const waiter of woken) Deferred.unsafeDone(waiter.wake, Effect.void)
  }

  /** Takes a slot for `client` when one is free; otherwise waits for a release and tries again. */
  const acquire = (client: string, perClient: number): Effect.Effect<void> =>
    Effect.suspend(() => {
      if (inFlight < maxInFlight && (byClient.get(client) ?? 0) < perClient) {
        inFlight += 1
        byClient.set(client, (byClient.get(client) ?? 0) + 1)
        return Effect.void
      }
      const waiter: Waiter = { client, wake: Deferred.unsafeMake<void>(FiberId.none) }
      waiters.push(waiter)
      return Deferred.await(waiter.wake).pipe(
        Effect.onInterrupt(() => Effect.sync(() => (waiters = waiters.filter((w) => w !== waiter)))),
        Effect.zipRight(acquire(client, perClient))
      )
    })

  return { acquire, release }
}

/** Answers by name until their time is up; the oldest entry goes first past `max`. */
const makeCache = (max: number) => {
  const entries = new Map<string, { readonly answer: Answer; readonly until: number }>()
  return {
    get: (name: string, now: number): Answer | undefined => {
      const entry = entries.get(name)
      return entry !== undefined && entry.until > now ? entry.answer : undefined
    },
    remember: (name: string, answer: Answer, seconds: number, now: number) => {
      if (seconds <= 0) return
      entries.delete(name)
      entries.set(name, { answer, until: now + seconds * 1000 })
      if (entries.size > max) entries.delete(entries.keys().next().value!)
    }
  }
}

const timedOut = (name: string, timeout: Duration.Duration) =>
  new TargetRejected({
    target: name,
    rule: "resolution_timeout",
    message: `${name} did not resolve within ${Duration.format(timeout)}`
  })

/** A resolver over `system`; the defaults suit getaddrinfo. */
export const makeResolver = (system: SystemLookup, options: ResolverOptions = {}): Effect.Effect<ResolverService> =>
  Effect.sync(() => {
    const timeout = Duration.decode(options.timeout ?? Duration.seconds(5))
    const slots = makeSlots(options.maxInFlight ?? 3)
    const cache = makeCache(options.maxCacheEntries ?? 4096)
    const pending = new Map<string, Promise<Answer>>()

    /** One OS lookup, shared by everyone asking for `name` meanwhile; its slot is held until the OS answers. */
    const start = (name: string, client: string): Promise<Answer> => {
      const answer = system(name).then(
        (addresses): Answer =>
          addresses.length === 0 ? { _tag: "Left", error: unresolvable(name, "no addresses") } : { _tag: "Right", addresses },
        (cause): Answer => ({ _tag: "Left", error: unresolvable(name, cause instanceof Error ? cause.message : String(cause)) })
      ).finally(() => {
        pending.delete(name)
        slots.release(client)
      })
      pending.set(name, answer)
      return answer
    }

    const resolve = (name: string, o: LookupOptions) =>
      Effect.gen(function*() {
        const client = o.client ?? ""
        const shared = pending.get(name)
        if (shared !== undefined) return yield* Effect.promise(() => shared)
        yield* slots.acquire(client, Math.max(1, o.perClient ?? 2))
        // Another caller may have started (or finished) this name while we waited.
        const started = pending.get(name)
        if (started !== undefined) {
          slots.release(client)
          return yield* Effect.promise(() => started)
        }
        return yield* Effect.promise(() => start(name, client))
      })

    const lookup = (name: string, o: LookupOptions = {}) =>
      Effect.gen(function*() {
        const answer = cache.get(name, yield* monotonicMillis) ?? (yield* resolve(name, o).pipe(
          Effect.timeoutTo({
            duration: timeout,
            onTimeout: (): Answer => ({ _tag: "Left", error: timedOut(name, timeout) }),
            onSuccess: (a) => a
          }),
          Effect.tap((a) =>
            Effect.map(
              monotonicMillis,
              (at) => cache.remember(name, a, a._tag === "Right" ? o.cacheSeconds ?? 0 : o.negativeCacheSeconds ?? 0, at)
            )
          )
        ))
        return answer._tag === "Right" ? answer.addresses : yield* Effect.fail(answer.error)
      })

    return { lookup }
  })

export class Resolver extends Context.Tag("security-mcp/Resolver")<Resolver, ResolverService>() {
  /** The system resolver (getaddrinfo: /etc/hosts, then DNS), bounded by `timeout`. */
  static readonly layer = (timeout: Duration.DurationInput = Duration.seconds(5)): Layer.Layer<Resolver> =>
    Layer.effect(Resolver, makeResolver(systemLookup, { timeout }))

  /** A fixed table, for tests and for pinning names without DNS. */
  static readonly layerStatic = (table: Readonly<Record<string, ReadonlyArray<string>>>): Layer.Layer<Resolver> =>
    Layer.succeed(Resolver, {
      lookup: (name) => {
        const addresses = Object.hasOwn(table, name) ? table[name] : undefined
        return addresses === undefined || addresses.length === 0
          ? Effect.fail(unresolvable(name, "not in the static table"))
          : Effect.succeed(addresses)
      }
    })
}
