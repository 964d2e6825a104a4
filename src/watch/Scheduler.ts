import { Clock, Context, Duration, Effect, Either, FiberSet, Layer, Option, Ref, Stream } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { Events } from "../events/Events.js"
import { ToolExecutor } from "../execution/ToolExecutor.js"
import { compareRecords, DIFFABLE_TOOLS } from "../results/compare.js"
import { Startup } from "../startup.js"
import { Approvals } from "../storage/Approvals.js"
import { Database } from "../storage/Database.js"
import { ScanStore } from "../storage/ScanStore.js"
import { type Claim, ScheduleStore, type StoredSchedule } from "../storage/ScheduleStore.js"
import { makeUlidGenerator } from "../storage/ulid.js"
import { ToolRegistry } from "../tools/ToolRegistry.js"
import { alertingChanges, type ChangeAlert, changeCount } from "./alerts.js"
import { parseTiming } from "./nextRun.js"
import { ownerCaller } from "./owner.js"
import { approvalNeed, failedOutcome, inputOf, type Outcome } from "./run.js"
import { nextRunAt, Schedules } from "./Schedules.js"
import { standingVerdict } from "./standing.js"
import { Webhooks } from "./Webhooks.js"

/**
 * Runs due schedules. Every `watch.poll_interval` this instance claims as
 * many due runs as it has free slots (the store's claim is exclusive, also
 * across instances sharing PostgreSQL), runs each through the executor as
 * the schedule's owner while renewing its lease, compares the new scan with
 * the schedule's previous one and alerts on changes its rule matches: an
 * SSE event, the schedule's webhooks, and (through the scan store's
 * updates) MCP subscribers of the target's history. Stopping interrupts the
 * runs, which are recorded interrupted and left for a retry.
 */

export interface SchedulerService {
  /** Claims and starts the runs due now; returns how many it started. */
  readonly tick: Effect.Effect<number>
  /** Runs in progress on this instance. */
  readonly active: Effect.Effect<number>
}

const ADMIN_VIEW = { callerId: "", admin: true }

class LeaseLost {
  readonly _tag = "LeaseLost"
}

interface Parts {
  readonly config: ConfigService["Type"]
  readonly store: ScheduleStore["Type"]
  readonly executor: ToolExecutor["Type"]
  readonly registry: ToolRegistry["Type"]
  readonly scans: ScanStore["Type"]
  readonly events: Events["Type"]
  readonly webhooks: Webhooks["Type"]
  readonly approvals: Approvals["Type"]
  readonly instanceId: string
  readonly nextId: Effect.Effect<string>
  readonly background: FiberSet.FiberSet
}

/**
 * The run's call, stopped when its standing approval is revoked while it
 * runs: a revoke withdraws the approval of what is running, not only of the
 * runs still to come. The interrupted call is recorded as every interrupted
 * call is (audit line, partial scan).
 */
const untilRevoked = (p: Parts, approvalId: string, call: Effect.Effect<Outcome>) =>
  Effect.raceFirst(
    call,
    Effect.map(p.approvals.awaitRevoked(approvalId), (approval): Outcome => ({
      status: "failed",
      scanId: null,
      reason: `stopped: standing approval ${approvalId} was revoked by ${approval.revoked_by} during the run`
    }))
  )

/** The run's call through the executor, as its owner, within its max runtime and its standing approval. */
const execute = (p: Parts, claim: Claim, c: AppConfig) =>
  Effect.gen(function*() {
    const { schedule } = claim
    const caller = ownerCaller(schedule.owner, schedule.source, c)
    if (Either.isLeft(caller)) return { status: "skipped", scanId: null, reason: `skipped: ${caller.left}` } satisfies Outcome
    const tool = yield* Effect.option(p.registry.get(schedule.spec.tool))
    const need = approvalNeed(schedule.spec, Option.getOrUndefined(tool)?.spec, caller.right, c)
    const verdict = need === undefined ? undefined : yield* standingVerdict(p.approvals, schedule, need, caller.right).pipe(
      Effect.catchAll((e) => Effect.succeed({ _tag: "skip", reason: `skipped: ${e._tag}: ${e.message}` } as const))
    )
    if (verdict?._tag === "skip") return { status: "skipped", scanId: null, reason: verdict.reason } satisfies Outcome
    const options = verdict === undefined ? undefined : { standingApproval: verdict.ref }
    const input = inputOf(schedule.spec, schedule.id, claim.runId)
    const call = p.executor.execute(schedule.spec.tool, input, caller.right, options).pipe(
      Effect.map((result): Outcome => ({
        status: result.error === null ? "succeeded" : "failed",
        scanId: result.scan_id,
        reason: result.error
      })),
      Effect.catchAll((error) => Effect.succeed(failedOutcome(error)))
    )
    const limit = schedule.spec.max_runtime
    const approved = verdict === undefined ? call : untilRevoked(p, verdict.ref.approvalId, call)
    return yield* limit === null ? approved : approved.pipe(
      Effect.timeoutTo({
        duration: Duration.seconds(limit),
        onTimeout: (): Outcome => ({
          status: "failed",
          scanId: null,
          reason: `stopped: the run took longer than its max_runtime (${limit} s)`
        }),
        onSuccess: (o) => o
      })
    )
  })

/** The new scan compared with the schedule's previous one; alerts when the rule matches. Returns the change count. */
const compareAndAlert = (p: Parts, claim: Claim, scanId: string, c: AppConfig) =>
  Effect.gen(function*() {
    const { schedule } = claim
    if (schedule.lastScanId === null) return null
    const [from, to] = yield* Effect.all([p.scans.get(schedule.lastScanId, ADMIN_VIEW), p.scans.get(scanId, ADMIN_VIEW)])
    const compared = yield* compareRecords(from, to, c.results.summary_tokens)
    const changes = changeCount(compared.diff)
    const alerting = alertingChanges(compared.diff, schedule.spec.alert)
    if (alerting === 0) return changes
    const alert: ChangeAlert = {
      type: "schedule.changed",
      alert_id: yield* p.nextId,
      schedule_id: schedule.id,
      schedule: schedule.name,
      owner: schedule.owner,
      run_id: claim.runId,
      tool: schedule.spec.tool,
      target: schedule.spec.target,
      rule: schedule.spec.alert,
      changes: alerting,
      from_scan_id: from.scan_id,
      to_scan_id: to.scan_id,
      summary: compared.summary,
      diff: compared.diff,
      at: new Date(yield* Clock.currentTimeMillis).toISOString()
    }
    yield* p.events.publish({
      type: "schedule.changed",
      scheduleId: schedule.id,
      runId: claim.runId,
      owner: schedule.owner,
      target: schedule.spec.target,
      changes: alerting,
      fromScanId: from.scan_id,
      toScanId: to.scan_id,
      summary: compared.summary
    })
    // Deliveries retry for minutes: they go on in the background, and never hold up the next run.
    for (const name of schedule.spec.webhooks) yield* FiberSet.run(p.background, p.webhooks.deliver(name, alert))
    return changes
  }).pipe(
    Effect.catchAll((error) =>
      Effect.as(Effect.logWarning(`watch: run ${claim.runId} of ${claim.schedule.id} not compared: ${error.message}`), null)
    )
  )

/**
 * Whether a run may go on after an attempt to renew its lease: a renewal refused means another instance has the
 * lease; one that could not be made (the store unreachable) gets the benefit of the doubt only while the last
 * renewal still covers now — past it, another instance may have claimed the expired lease and run it again.
 */
export const stillHeld = (renewed: boolean | undefined, heldUntilMs: number, now: number): boolean => renewed ?? now < heldUntilMs

/** Renews the lease every third of its length; fails with LeaseLost once it is, or may be, another instance's. */
const keepLease = (p: Parts, claim: Claim, leaseMs: number) =>
  Effect.gen(function*() {
    let heldUntil = (yield* Clock.currentTimeMillis) + leaseMs
    for (;;) {
      yield* Effect.sleep(Duration.millis(leaseMs / 3))
      const now = yield* Clock.currentTimeMillis
      // A renewal still unanswered when the lease ends is as good as refused.
      const renewed = Option.getOrUndefined(
        yield* Effect.option(
          p.store.renew(claim.schedule.id, claim.runId, p.instanceId, now + leaseMs).pipe(
            Effect.timeout(Duration.millis(Math.max(0, heldUntil - now)))
          )
        )
      )
      if (renewed === true) heldUntil = now + leaseMs
      if (!stillHeld(renewed, heldUntil, yield* Clock.currentTimeMillis)) return yield* Effect.fail(new LeaseLost())
    }
  })

/** The lease renewed once more before a run's alert goes out: an instance that lost it does not alert for it. */
const fence = (p: Parts, claim: Claim, leaseMs: number) =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (now) => Effect.orElseSucceed(p.store.renew(claim.schedule.id, claim.runId, p.instanceId, now + leaseMs), () => false)
  )

const runClaim = (p: Parts, claim: Claim) =>
  Effect.gen(function*() {
    const c = yield* p.config.get
    const id = claim.schedule.id
    yield* Effect.logInfo(`watch: run ${claim.runId} of schedule ${id} (${claim.schedule.name}) started, attempt ${claim.attempt}`)
    const outcome = yield* Effect.raceFirst(execute(p, claim, c), keepLease(p, claim, c.watch.lease_seconds * 1000))
    const diffable = outcome.status === "succeeded" && outcome.scanId !== null && DIFFABLE_TOOLS.has(claim.schedule.spec.tool) &&
      (yield* fence(p, claim, c.watch.lease_seconds * 1000))
    const changes = diffable ? yield* compareAndAlert(p, claim, outcome.scanId!, c) : null
    yield* p.store.finish(id, claim.runId, p.instanceId, {
      ...outcome,
      finishedMs: yield* Clock.currentTimeMillis,
      changes,
      baseline: diffable ? { scanId: outcome.scanId!, specHash: claim.schedule.specHash } : null,
      retry: false
    })
    yield* p.events.publish({ type: "schedule.run", scheduleId: id, runId: claim.runId, owner: claim.schedule.owner, ...outcome })
  }).pipe(
    Effect.onInterrupt(() =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        p.store.finish(claim.schedule.id, claim.runId, p.instanceId, {
          status: "interrupted",
          finishedMs: now,
          scanId: null,
          reason: "The server stopped during the run; it is retried once (by another instance, or this one after a restart).",
          changes: null,
          baseline: null,
          retry: true
        })).pipe(Effect.ignore)
    ),
    Effect.catchAll((error) =>
      Effect.logWarning(
        error instanceof LeaseLost
          ? `watch: run ${claim.runId} stopped: its lease went to another instance`
          : `watch: run ${claim.runId} not recorded: ${error.message}`
      )
    )
  )

const nextRunOf = (c: AppConfig) => (s: StoredSchedule, now: number) =>
  Either.match(parseTiming(s.spec, c.watch.min_interval), {
    // A stored timing that no longer parses (min_interval raised): try again in a day, and say why once a day.
    onLeft: (why) => Effect.as(Effect.logError(`watch: schedule ${s.id} has no valid timing: ${why}`), now + 86_400_000),
    onRight: (timing) => nextRunAt(timing, s.spec.jitter, now)
  })

export class Scheduler extends Context.Tag("security-mcp/Scheduler")<Scheduler, SchedulerService>() {
  static readonly layer: Layer.Layer<
    Scheduler,
    never,
    ConfigService | ScheduleStore | ToolExecutor | ToolRegistry | ScanStore | Events | Webhooks | Database | Schedules | Approvals
  > = Layer.scoped(Scheduler, Effect.suspend(() => makeScheduler))
}

const makeScheduler = Effect.gen(function*() {
  const db = yield* Database
  const schedules = yield* Schedules
  const runs = yield* FiberSet.make()
  const active = yield* Ref.make(0)
  const p: Parts = {
    config: yield* ConfigService,
    store: yield* ScheduleStore,
    executor: yield* ToolExecutor,
    registry: yield* ToolRegistry,
    scans: yield* ScanStore,
    events: yield* Events,
    webhooks: yield* Webhooks,
    approvals: yield* Approvals,
    instanceId: db.instanceId,
    nextId: yield* makeUlidGenerator,
    background: yield* FiberSet.make()
  }
  const tick = Effect.gen(function*() {
    const c = yield* p.config.get
    const free = c.watch.max_concurrent_runs - (yield* Ref.get(active))
    if (!db.enabled || !c.watch.enabled || free <= 0) return 0
    const claims = yield* p.store.claim({
      instanceId: p.instanceId,
      now: yield* Clock.currentTimeMillis,
      leaseMs: c.watch.lease_seconds * 1000,
      limit: free,
      newId: p.nextId,
      nextRun: nextRunOf(c)
    })
    for (const claim of claims) {
      yield* Ref.update(active, (n) => n + 1)
      yield* FiberSet.run(runs, runClaim(p, claim).pipe(Effect.ensuring(Ref.update(active, (n) => n - 1))))
    }
    return claims.length
  }).pipe(Effect.catchAll((error) => Effect.as(Effect.logWarning(`watch: ${error.message}`), 0)))

  if (db.enabled) {
    const sync = schedules.syncConfigured.pipe(Effect.catchAll((e) => Effect.logWarning(`watch: ${e.message}`)))
    const start = Effect.gen(function*() {
      yield* db.ready
      // One process per SQLite file: leases left by an earlier process are void at once.
      if (db.info.backend === "sqlite") yield* p.store.expireOthers(p.instanceId).pipe(Effect.ignore)
      yield* sync
      yield* Effect.forkScoped(Stream.runForEach(p.config.changes, () => sync))
      const poll = Effect.flatMap(p.config.get, (c) => Effect.sleep(Duration.seconds(c.watch.poll_interval)))
      yield* Effect.forever(Effect.zipRight(tick, poll))
    })
    // Nothing waits for the first look at the schedules: not before the first requests either (see Startup).
    yield* Effect.forkScoped((yield* Startup).background(start))
  }
  return { tick, active: Ref.get(active) } satisfies SchedulerService
})
