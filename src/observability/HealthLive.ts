import { Deferred, Duration, Effect, Layer, Ref, type Scope } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { Events } from "../events/Events.js"
import { monotonicMillis } from "../monotonic.js"
import { Startup } from "../startup.js"
import { type CheckReport, type CheckResult, Health, type HealthCheck, type HealthReport, type HealthStatus } from "./Health.js"
import { builtinChecks, worst } from "./systemChecks.js"

/** A check that has not answered by then is reported unhealthy; the round does not wait for it. */
export const DEFAULT_CHECK_TIMEOUT = Duration.seconds(10)

interface StoredResult extends CheckResult {
  readonly priority: HealthCheck["priority"]
  readonly checkedAtMillis: number
  readonly durationMs: number
}

/**
 * The overall status from the checks' statuses as reported:
 * - a CRITICAL check unhealthy → unhealthy;
 * - a CRITICAL check degraded, or an IMPORTANT one not healthy → degraded;
 * - INFORMATIONAL checks never change it.
 * A stale result (the background round has not refreshed it in time) can no
 * longer vouch for health, so a stale CRITICAL or IMPORTANT check counts as at
 * least degraded; a stale unhealthy CRITICAL check stays unhealthy.
 */
export const aggregate = (
  checks: ReadonlyArray<{ readonly priority: HealthCheck["priority"]; readonly status: HealthStatus; readonly stale: boolean }>
): HealthStatus =>
  checks.reduce<HealthStatus>((overall, check) => {
    if (check.priority === "INFORMATIONAL") return overall
    const status = check.stale ? worst(check.status, "degraded") : check.status
    if (check.priority === "CRITICAL") return worst(overall, status)
    return status === "healthy" ? overall : worst(overall, "degraded")
  }, "healthy")

const runCheck = (check: HealthCheck, timeout: Duration.Duration): Effect.Effect<StoredResult> =>
  Effect.gen(function*() {
    const start = yield* monotonicMillis
    // `disconnect` lets the timeout return even when the check ignores interruption.
    const result = yield* check.run.pipe(
      Effect.disconnect,
      Effect.timeoutTo({
        duration: timeout,
        onSuccess: (r): CheckResult => r,
        onTimeout: (): CheckResult => ({
          status: "unhealthy",
          message: `Check did not complete within ${Duration.format(timeout)}`
        })
      }),
      Effect.catchAllCause((cause) =>
        Effect.succeed<CheckResult>({ status: "unhealthy", message: `Check crashed: ${cause.toString().split("\n")[0]}` })
      )
    )
    const end = yield* monotonicMillis
    return { ...result, priority: check.priority, checkedAtMillis: end, durationMs: end - start }
  })

export interface HealthOptions {
  readonly transport: string
  readonly checks: ReadonlyArray<HealthCheck>
  readonly checkTimeout?: Duration.DurationInput
}

/** How long one built report is served again (see `makeHealth`). */
export const REPORT_REUSE_MS = 250

/**
 * The Health service over exactly `options.checks`. A background fiber, alive
 * as long as the scope, runs all checks concurrently every
 * `health.check_interval` seconds (re-read each round, so a reload applies at
 * the next one) and publishes `health.changed` when the overall status moves,
 * the first round counting as a change from "starting".
 * `report` only reads the last results; before the first round has finished
 * it waits for it (bounded by the check timeout).
 * Results older than `health.staleness_seconds` are marked stale, so keep
 * `check_interval` below it (the defaults are 30 and 60).
 */
export const makeHealth = (options: HealthOptions): Effect.Effect<Health["Type"], never, ConfigService | Events | Scope.Scope> =>
  Effect.gen(function*() {
    const config = yield* ConfigService
    const events = yield* Events
    const timeout = Duration.decode(options.checkTimeout ?? DEFAULT_CHECK_TIMEOUT)
    const results = yield* Ref.make<ReadonlyMap<string, StoredResult>>(new Map())
    const lastStatus = yield* Ref.make<HealthReport["status"] | "starting">("starting")
    const firstRound = yield* Deferred.make<void>()
    const roundLock = yield* Effect.makeSemaphore(1)

    const buildReport = Effect.gen(function*() {
      const now = yield* monotonicMillis
      const { health } = yield* config.get
      const stored = yield* Ref.get(results)
      const checks: Record<string, CheckReport> = {}
      for (const check of options.checks) {
        const r = stored.get(check.name)
        if (r === undefined) continue
        checks[check.name] = {
          status: r.status,
          message: r.message,
          metadata: r.metadata ?? {},
          priority: r.priority,
          checked_at: new Date(r.checkedAtMillis).toISOString(),
          duration_ms: r.durationMs,
          stale: now - r.checkedAtMillis > health.staleness_seconds * 1000
        }
      }
      const list = Object.values(checks)
      const report: HealthReport = {
        status: aggregate(list),
        timestamp: new Date(now).toISOString(),
        transport: options.transport,
        checks,
        summary: {
          total_checks: list.length,
          healthy_checks: list.filter((c) => c.status === "healthy").length,
          degraded_checks: list.filter((c) => c.status === "degraded").length,
          unhealthy_checks: list.filter((c) => c.status === "unhealthy").length
        }
      }
      return report
    })

    /**
     * The last report, served again for up to `REPORT_REUSE_MS` and until the
     * next round: `/health` may be asked thousands of times a second, and
     * its checks change only once per round anyway. Only its `timestamp` and
     * `stale` flags can lag, by that much.
     */
    let lastReport: { readonly at: number; readonly report: HealthReport } | undefined
    const currentReport = Effect.flatMap(
      monotonicMillis,
      (now) =>
        lastReport !== undefined && now >= lastReport.at && now - lastReport.at < REPORT_REUSE_MS
          ? Effect.succeed(lastReport.report)
          : Effect.map(buildReport, (report) => {
            lastReport = { at: now, report }
            return report
          })
    )

    const round = roundLock.withPermits(1)(Effect.gen(function*() {
      const fresh = yield* Effect.forEach(options.checks, (check) => runCheck(check, timeout), { concurrency: "unbounded" })
      yield* Ref.set(results, new Map(options.checks.map((check, i) => [check.name, fresh[i]!])))
      lastReport = undefined
      yield* Deferred.succeed(firstRound, undefined)
      const report = yield* buildReport
      const previous = yield* Ref.getAndSet(lastStatus, report.status)
      if (previous !== report.status) {
        yield* events.publish({ type: "health.changed", from: previous, to: report.status })
        yield* Effect.logInfo(`health ${previous} -> ${report.status}`)
      }
      return report
    }))

    const loop = round.pipe(
      Effect.zipRight(Effect.flatMap(config.get, (c) => Effect.sleep(Duration.seconds(c.health.check_interval)))),
      Effect.forever
    )
    // A report waits for the first round; that round waits for the first requests (see Startup).
    yield* Effect.forkScoped((yield* Startup).background(loop))

    return {
      // Awaiting even a completed Deferred suspends the fiber until the scheduler's next tick: after the first round, no await.
      report: Effect.flatMap(
        Deferred.isDone(firstRound),
        (done) => done ? currentReport : Effect.zipRight(Deferred.await(firstRound), currentReport)
      ),
      refresh: round
    }
  })

/** The Health service with the built-in system checks plus `extraChecks` (breakers, tool binaries…), which may need services. */
export const HealthLive = <R = never>(options: {
  readonly transport: string
  readonly extraChecks?: Effect.Effect<ReadonlyArray<HealthCheck>, never, R>
  readonly checkTimeout?: Duration.DurationInput
}): Layer.Layer<Health, never, ConfigService | Events | Exclude<R, Scope.Scope>> =>
  Layer.scoped(
    Health,
    Effect.gen(function*() {
      const builtin = yield* builtinChecks
      const extra = options.extraChecks === undefined ? [] : yield* options.extraChecks
      return yield* makeHealth({
        transport: options.transport,
        checks: [...builtin, ...extra],
        ...(options.checkTimeout === undefined ? {} : { checkTimeout: options.checkTimeout })
      })
    })
  )
