import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import {
  Clock,
  Context,
  Deferred,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  Layer,
  Metric,
  Option,
  ParseResult,
  Random,
  Ref,
  Schedule,
  Scope
} from "effect"
import type { CheckResult, HealthCheck } from "../observability/Health.js"
import { Startup } from "../startup.js"
import { adviceFor, type Backend, causeMessage, locationOf, openClient } from "./backend.js"
import { StoreUnavailable } from "./errors.js"
import { heartbeat, holdLock, type Instance, type LockSession, recoverInterrupted, release } from "./instances.js"
import { storeFailures } from "./metrics.js"
import { migrate } from "./migrate.js"
import { makeUlidGenerator } from "./ulid.js"

/**
 * The database every stored feature shares (scans, operator switches, and
 * later approvals, schedules and dead letters): opened, migrated and watched
 * here, used through `use`. A database that cannot be opened at start-up does
 * not stop the server: it is retried in the background while every operation
 * fails fast with `StoreUnavailable`, and health reports it.
 */

export interface StoreFailure {
  readonly operation: string
  readonly message: string
  readonly at: string
}

export interface DatabaseInfo {
  readonly backend: "sqlite" | "postgres" | "disabled"
  /** The SQLite file, or the PostgreSQL URL without its password. */
  readonly location: string
}

export interface DatabaseService {
  readonly info: DatabaseInfo
  readonly enabled: boolean
  /** This server's id in the database: running scans record it, so a dead instance's scans can be interrupted. */
  readonly instanceId: string
  /** Completes once the database is open and migrated (at once when disabled). */
  readonly ready: Effect.Effect<void>
  /**
   * Runs `query` on the open database. A database failure (SQL error, no
   * answer in time, an unreadable row) is counted, logged, reported by health
   * and returned as `StoreUnavailable`; other failures pass through.
   */
  readonly use: <A, E>(
    operation: string,
    query: Effect.Effect<A, E, SqlClient.SqlClient>
  ) => Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError> | StoreUnavailable>
  /** Accounts for a failure that happened outside `use` (a full write queue). */
  readonly reportFailure: (operation: string, message: string) => Effect.Effect<void>
  /** IMPORTANT: degraded while the database is not open, refuses a write, or operations failed since the last check. */
  readonly health: HealthCheck
}

export interface DatabaseOptions {
  /** Delays between attempts to open a database that could not be opened (default 1 s doubling up to 60 s). */
  readonly retry?: Schedule.Schedule<unknown>
  /** An operation without an answer by then fails (default 30 s; PostgreSQL only, SQLite answers synchronously). */
  readonly operationTimeout?: Duration.DurationInput
  /** How often a PostgreSQL instance re-checks its lock and interrupts dead instances' scans (default 30 s). */
  readonly maintenanceInterval?: Duration.DurationInput
}

export class Database extends Context.Tag("security-mcp/Database")<Database, DatabaseService>() {
  /** `storage.enabled: false`: nothing is stored, every operation says so. */
  static readonly disabled: Layer.Layer<Database> = Layer.sync(Database, () => disabledDatabase)

  static readonly layer = (backend: Backend, options: DatabaseOptions = {}): Layer.Layer<Database> =>
    Layer.scoped(Database, makeDatabase(backend, options))
}

const disabledDatabase: DatabaseService = {
  info: { backend: "disabled", location: "" },
  enabled: false,
  instanceId: "",
  ready: Effect.void,
  use: (operation) =>
    Effect.fail(
      new StoreUnavailable({
        operation,
        message: "Storage is disabled (storage.enabled: false): scans are not kept. Enable it to store and read scans."
      })
    ),
  reportFailure: () => Effect.void,
  health: {
    name: "storage",
    priority: "IMPORTANT",
    run: Effect.succeed({ status: "healthy", message: "storage disabled (storage.enabled: false)" })
  }
}

/** The instance lock's session, in a scope of its own: closing it gives a dead connection back to the pool. */
interface HeldLock extends LockSession {
  readonly scope: Scope.CloseableScope
}

interface Open {
  readonly instance: Instance
  readonly context: Context.Context<SqlClient.SqlClient>
  readonly scope: Scope.CloseableScope
  /** None on SQLite, which needs no lock. */
  readonly lock: Ref.Ref<Option.Option<HeldLock>>
  /** How old a heartbeat must be for an instance whose lock was freed by a database restart to count as dead. */
  readonly staleAfterMs: number
}

type State =
  | { readonly _tag: "Opening"; readonly reason: string }
  | { readonly _tag: "Open"; readonly open: Open }

interface Failures {
  readonly total: number
  readonly sinceCheck: number
  readonly last: StoreFailure | undefined
}

const maintenanceInterval = (options: DatabaseOptions) => Duration.decode(options.maintenanceInterval ?? Duration.seconds(30))

const isDatabaseError = (error: unknown): error is SqlError | ParseResult.ParseError =>
  error instanceof SqlError || ParseResult.isParseError(error)

const defaultRetry = Schedule.exponential(Duration.seconds(1)).pipe(Schedule.union(Schedule.spaced(Duration.seconds(60))))

const makeInstanceId = Effect.flatMap(makeUlidGenerator, (next) => next)

const lockServer = (lock: Option.Option<HeldLock>) => Option.match(lock, { onNone: () => null, onSome: (l) => l.serverStartedMs })

/** Takes the instance lock in a child scope of `parent`. */
const takeLock = (instance: Instance, parent: Scope.Scope) =>
  Effect.gen(function*() {
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    const held = yield* holdLock(instance).pipe(Scope.extend(scope), Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
    if (Option.isNone(held)) yield* Scope.close(scope, Exit.void)
    return Option.map(held, (session): HeldLock => ({ ...session, scope }))
  })

/** Opens the client in `scope`, migrates, registers the instance and interrupts the scans of dead instances. */
const openIn = (backend: Backend, instance: Instance, scope: Scope.CloseableScope, options: DatabaseOptions) =>
  Effect.gen(function*() {
    const client = yield* openClient(backend, instance.id).pipe(Scope.extend(scope))
    const context = Context.make(SqlClient.SqlClient, client)
    const run = <A, E>(effect: Effect.Effect<A, E, SqlClient.SqlClient | Scope.Scope>) =>
      effect.pipe(Effect.provide(context), Scope.extend(scope))
    // Three rounds: a living instance takes its lock again within one round of the database's return.
    const staleAfterMs = 3 * Duration.toMillis(maintenanceInterval(options))
    yield* run(migrate)
    const lock = yield* Ref.make(yield* run(takeLock(instance, scope)))
    const now = yield* Clock.currentTimeMillis
    yield* run(heartbeat(instance, now, lockServer(yield* Ref.get(lock))))
    yield* Scope.addFinalizer(
      scope,
      Clock.currentTimeMillis.pipe(
        Effect.flatMap((at) => run(release(instance, at))),
        Effect.timeout(Duration.seconds(5)),
        Effect.catchAllCause((cause) => Effect.logWarning("store: could not mark this instance's running scans interrupted", cause))
      )
    )
    const recovered = yield* run(recoverInterrupted(instance, now, staleAfterMs))
    if (recovered.length > 0) {
      yield* Effect.logWarning(`store: ${recovered.length} scans left running by a stopped server are now marked interrupted`)
    }
    return { instance, context, scope, lock, staleAfterMs } satisfies Open
  }).pipe(
    // The Migrator turns a failed migration into a defect; here it is one more reason the store is not open.
    Effect.catchAllDefect(Effect.fail),
    Effect.mapError((error) =>
      error instanceof StoreUnavailable ? error : new StoreUnavailable({
        operation: "open",
        message: `Cannot prepare the ${backend._tag} store at ${locationOf(backend)}: ${causeMessage(error)}. ${adviceFor(backend)}`
      })
    )
  )

/**
 * One attempt to open in a child scope of `parent`; the child is closed again
 * when the attempt fails. Each attempt draws its own lock key, so a key some
 * live instance happens to hold is not tried forever.
 */
const attemptOpen = (backend: Backend, instanceId: string, parent: Scope.Scope, options: DatabaseOptions) =>
  Effect.gen(function*() {
    const instance: Instance = { id: instanceId, lockKey: yield* Random.nextIntBetween(1, 2 ** 31 - 1) }
    const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
    return yield* openIn(backend, instance, scope, options).pipe(Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))))
  })

/**
 * Runs the first attempt to open beside start-up rather than before it (a
 * stdio client waits for its initialize answer meanwhile: see Startup), and
 * retries in the background when it fails. Returns what makes an effect
 * wait for that first attempt: whatever needs the store, its health
 * included, waits for it.
 */
const openInBackground = (
  attempt: Effect.Effect<Open, StoreUnavailable>,
  retry: Schedule.Schedule<unknown, StoreUnavailable>
) =>
  Effect.gen(function*() {
    const firstAttempt = yield* Deferred.make<void>()
    const startup = yield* Startup
    yield* Effect.forkScoped(
      startup.background(Effect.either(attempt)).pipe(
        Effect.ensuring(Deferred.succeed(firstAttempt, undefined)),
        Effect.flatMap((first) => first._tag === "Left" ? Effect.retry(attempt, retry).pipe(Effect.ignore) : Effect.void)
      )
    )
    return <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.zipRight(Deferred.await(firstAttempt), effect)
  })

const makeDatabase = (backend: Backend, options: DatabaseOptions): Effect.Effect<DatabaseService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const parent = yield* Effect.scope
    const instanceId = yield* makeInstanceId
    const info: DatabaseInfo = { backend: backend._tag, location: locationOf(backend) }
    const advice = adviceFor(backend)
    const timeout = Duration.decode(options.operationTimeout ?? Duration.seconds(30))
    const state = yield* Ref.make<State>({ _tag: "Opening", reason: "not opened yet" })
    const failures = yield* Ref.make<Failures>({ total: 0, sinceCheck: 0, last: undefined })
    const opened = yield* Deferred.make<void>()

    const reportFailure = (operation: string, message: string) =>
      Effect.gen(function*() {
        const at = new Date(yield* Clock.currentTimeMillis).toISOString()
        yield* Ref.update(failures, (f) => ({ total: f.total + 1, sinceCheck: f.sinceCheck + 1, last: { operation, message, at } }))
        yield* Metric.increment(Metric.tagged(storeFailures, "operation", operation))
        yield* Effect.logError(`store: ${message}`).pipe(Effect.annotateLogs({ operation }))
      })

    const onOpened = (open: Open) =>
      Ref.set(state, { _tag: "Open", open }).pipe(
        Effect.zipRight(Deferred.succeed(opened, undefined)),
        Effect.zipRight(Effect.logInfo(`store: ${info.backend} store open at ${info.location}`))
      )
    const onAttemptFailed = (error: StoreUnavailable) =>
      Ref.set(state, { _tag: "Opening", reason: error.message }).pipe(
        Effect.zipRight(Effect.logError(`store: ${error.message} Scans still run but are not stored until it opens; retrying.`))
      )
    const attempt = attemptOpen(backend, instanceId, parent, options).pipe(Effect.tapError(onAttemptFailed), Effect.tap(onOpened))
    const afterFirstAttempt = yield* openInBackground(attempt, options.retry ?? defaultRetry)

    // SQLite answers synchronously, so only PostgreSQL can leave a query without an answer.
    const bounded = <A, E>(query: Effect.Effect<A, E>): Effect.Effect<A, E | SqlError> =>
      backend._tag === "sqlite" ? query : query.pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new SqlError({ message: `no answer within ${Duration.format(timeout)}` })
        })
      )

    const use = <A, E>(
      operation: string,
      query: Effect.Effect<A, E, SqlClient.SqlClient>
    ): Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError> | StoreUnavailable> =>
      Effect.flatMap(afterFirstAttempt(Ref.get(state)), (current) => {
        if (current._tag !== "Open") {
          // Counted, not logged: the failed opening attempts are logged already, and health says why.
          return Effect.zipRight(
            Metric.increment(Metric.tagged(storeFailures, "operation", operation)),
            Effect.fail(new StoreUnavailable({ operation, message: `The store is not open: ${current.reason}` }))
          )
        }
        return query.pipe(
          Effect.provide(current.open.context),
          bounded,
          Effect.catchIf(isDatabaseError, (error) => {
            const message = `${operation} failed: ${causeMessage(error)}. ${advice}`
            return Effect.zipRight(reportFailure(operation, message), Effect.fail(new StoreUnavailable({ operation, message })))
          })
        ) as Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError> | StoreUnavailable>
      })

    if (backend._tag === "postgres") {
      yield* Effect.forkScoped(maintain(state, use, options))
    }

    return {
      info,
      enabled: true,
      instanceId,
      ready: Deferred.await(opened),
      use,
      reportFailure,
      health: {
        name: "storage",
        priority: "IMPORTANT",
        run: afterFirstAttempt(checkHealth(info, advice, state, failures, instanceId, timeout))
      }
    } satisfies DatabaseService
  })

/**
 * PostgreSQL upkeep: the instance lock's connection is checked (and the lock
 * taken again on a new one if it died), the instance row refreshed, and the
 * running scans of instances that died meanwhile interrupted.
 */
const maintain = (state: Ref.Ref<State>, use: DatabaseService["use"], options: DatabaseOptions) => {
  const round = Effect.gen(function*() {
    const current = yield* Ref.get(state)
    if (current._tag !== "Open") return
    const { instance, lock, scope, staleAfterMs } = current.open
    const held = yield* Ref.get(lock)
    if (Option.isSome(held)) {
      const alive = yield* held.value.connection.execute("SELECT 1", [], undefined).pipe(Effect.isSuccess)
      if (!alive) {
        yield* Scope.close(held.value.scope, Exit.void)
        yield* use("lock", Effect.flatMap(takeLock(instance, scope), (l) => Ref.set(lock, l)))
      }
    }
    const now = yield* Clock.currentTimeMillis
    yield* use("heartbeat", heartbeat(instance, now, lockServer(yield* Ref.get(lock))))
    const recovered = yield* use("recover", recoverInterrupted(instance, now, staleAfterMs))
    if (recovered.length > 0) {
      yield* Effect.logWarning(`store: ${recovered.length} scans of a stopped server instance are now marked interrupted`)
    }
  })
  return round.pipe(
    Effect.ignore,
    Effect.repeat(Schedule.spaced(maintenanceInterval(options))),
    Effect.asVoid
  )
}

const checkHealth = (
  info: DatabaseInfo,
  advice: string,
  state: Ref.Ref<State>,
  failures: Ref.Ref<Failures>,
  instanceId: string,
  timeout: Duration.Duration
): Effect.Effect<CheckResult> =>
  Effect.gen(function*() {
    const current = yield* Ref.get(state)
    const seen = yield* Ref.getAndUpdate(failures, (f) => ({ ...f, sinceCheck: 0 }))
    const metadata = {
      backend: info.backend,
      location: info.location,
      instance_id: instanceId,
      failures_total: seen.total,
      last_failure: seen.last ?? null
    }
    const degraded = (message: string): CheckResult => ({ status: "degraded", message, metadata })
    const store = `the ${info.backend} store at ${info.location}`
    if (current._tag !== "Open") return degraded(`Scans are not stored: ${current.reason}`)
    const probe = yield* Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => Effect.flatMap(Ref.get(current.open.lock), (l) => heartbeat(current.open.instance, now, lockServer(l)))),
      Effect.provide(current.open.context),
      Effect.timeout(timeout),
      Effect.either
    )
    if (probe._tag === "Left") {
      return degraded(`Scans are not stored: ${store} refuses writes (${causeMessage(probe.left)}). ${advice}`)
    }
    if (seen.sinceCheck > 0) {
      return degraded(
        `${seen.sinceCheck} store operations failed since the last check (last: ${seen.last?.message ?? "unknown"})`
      )
    }
    return { status: "healthy", message: `${store} accepts writes`, metadata }
  })
