import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Duration, Effect, Either, Option, Queue } from "effect"
import type { Approval } from "../Approval.js"
import { statusAt } from "../approvalStatus.js"
import type { ConfigService } from "../config/ConfigService.js"
import {
  type ApprovalConflict,
  type ApprovalNotFound,
  ApprovalRefused,
  type ApprovalsUnavailable,
  type AuditUnavailable,
  type Forbidden
} from "../errors.js"
import type { Events } from "../events/Events.js"
import type { Caller } from "../identity/Caller.js"
import type { AuditEntry, AuditLog } from "../observability/AuditLog.js"
import { coversRun, mayRevoke, standingDigest, type StandingSubject, type StandingUse } from "../policy/approval.js"
import { STANDING_REQUESTS, xactLock } from "./advisoryLocks.js"
import { APPROVAL_COLUMNS, decodeApprovalRow, pendingColumns, toApproval, UNDECIDED } from "./approvalRows.js"

/**
 * Standing approvals: one pending request per schedule (and per version of
 * what its runs execute) that a second person approves once for every run
 * until it expires (at the latest at its engagement's end, and never later
 * than `approvals.standing_max_ttl`) or is revoked. They share the
 * `approvals` table, queue, routes and four-eyes rule with per-call
 * approvals; a run uses one without using it up, and names it in its audit
 * line and stored scan.
 */

/** A schedule's call that needs approval, as planned when the standing request is made. */
export interface StandingRequest {
  readonly subject: StandingSubject
  readonly requester: Caller
  /** The command line a run would execute today, shown to the approver. */
  readonly argv: ReadonlyArray<string>
  readonly intrusive: boolean
  readonly intrusiveReasons: ReadonlyArray<string>
  /** The first instant after the engagement's `until`, when it has one. */
  readonly engagementEndsMs: number | undefined
}

export interface StandingParts {
  readonly read: (id: string) => Effect.Effect<Option.Option<Approval>, ApprovalsUnavailable>
  readonly visible: (id: string, viewer: Caller) => Effect.Effect<Approval, ApprovalNotFound | ApprovalsUnavailable>
  readonly store: <A, E>(operation: string, query: Effect.Effect<A, E, SqlClient.SqlClient>) => Effect.Effect<A, any>
  readonly audit: AuditLog["Type"]
  readonly events: Events["Type"]
  readonly config: ConfigService["Type"]
  readonly nextId: Effect.Effect<string>
  readonly entry: (approval: Approval, actor: Caller, decision: AuditEntry["decision"], outcome: AuditEntry["outcome"]) => AuditEntry
}

/** What a standing request got: the request it stored, or the one for the same runs that another ask stored first. */
export interface StandingAsked {
  readonly approval: Approval
  readonly stored: boolean
}

export interface StandingService {
  /**
   * Stores a pending standing approval for the schedule (audited, announced) and returns it, unless the
   * schedule's latest one is for the same runs and pending or approved: that one is returned instead.
   */
  readonly requestStanding: (request: StandingRequest) => Effect.Effect<StandingAsked, ApprovalsUnavailable | AuditUnavailable>
  /** The schedule's newest standing approval, whatever its status. */
  readonly standingFor: (scheduleId: string) => Effect.Effect<Option.Option<Approval>, ApprovalsUnavailable>
  /** Checks that the standing approval covers this run now, and records the run as its latest use. */
  readonly useStanding: (id: string, use: StandingUse) => Effect.Effect<Approval, ApprovalRefused | ApprovalsUnavailable>
  readonly revoke: (
    id: string,
    actor: Caller,
    reason: string
  ) => Effect.Effect<Approval, ApprovalNotFound | ApprovalConflict | Forbidden | ApprovalsUnavailable | AuditUnavailable>
  /**
   * Returns the standing approval once it is revoked: at once for a revoke
   * on this instance, within `REVOKE_POLL` for one on another. It never
   * returns for an approval that is not revoked; a store that cannot be read
   * is asked again at the next poll.
   */
  readonly awaitRevoked: (id: string) => Effect.Effect<Approval>
}

/** How often a run under a standing approval re-reads it, for revokes made by another instance (local ones stop it at once). */
export const REVOKE_POLL = Duration.seconds(2)

const standingApproval = (req: StandingRequest, id: string, now: number, expires: number): Approval => ({
  approval_id: id,
  kind: "standing",
  schedule_id: req.subject.scheduleId,
  status: "pending",
  tool: req.subject.tool,
  target: req.subject.target,
  resolved_target: req.subject.target,
  argv: req.argv,
  intrusive: req.intrusive,
  intrusive_reasons: req.intrusiveReasons,
  engagement: req.subject.engagement.name,
  engagement_hash: req.subject.engagement.hash,
  requested_by: req.subject.requestedBy,
  requested_at: new Date(now).toISOString(),
  expires_at: new Date(expires).toISOString(),
  ...UNDECIDED,
  correlation_id: `schedule.${req.subject.scheduleId}`,
  digest: standingDigest(req.subject)
})

/** A new pending approval and its audit line, in the caller's transaction: a request whose line cannot be written is not stored either. */
const insertRequested = (
  p: Pick<StandingParts, "audit" | "entry">,
  approval: Approval,
  requester: Caller,
  nowMs: number,
  expiresMs: number
) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`INSERT INTO approvals ${sql.insert(pendingColumns(approval, nowMs, expiresMs))}`.pipe(
      Effect.zipRight(p.audit.write(p.entry(approval, requester, "approval:requested", "pending")))
    ))

const announceRequested = (events: Events["Type"], approval: Approval) =>
  events.publish({
    type: "approval.requested",
    approvalId: approval.approval_id,
    tool: approval.tool,
    target: approval.target,
    resolvedTarget: approval.resolved_target,
    argv: approval.argv,
    engagement: approval.engagement,
    requestedBy: approval.requested_by,
    expiresAt: approval.expires_at
  })

/** Stores a new pending approval with its audit line in one transaction, then announces it. */
export const storeRequested = (
  p: Pick<StandingParts, "store" | "audit" | "events" | "entry">,
  approval: Approval,
  requester: Caller,
  nowMs: number,
  expiresMs: number
): Effect.Effect<void, ApprovalsUnavailable | AuditUnavailable> =>
  p.store(
    "request",
    Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(insertRequested(p, approval, requester, nowMs, expiresMs)))
  ).pipe(Effect.zipRight(announceRequested(p.events, approval)))

const latestStanding = (scheduleId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql`SELECT ${sql.literal(APPROVAL_COLUMNS)} FROM approvals
      WHERE schedule_id = ${scheduleId} AND kind = 'standing' ORDER BY id DESC LIMIT 1`.pipe(
      Effect.flatMap((rows) =>
        rows[0] === undefined
          ? Effect.succeed(Option.none<Approval>())
          : Effect.map(decodeApprovalRow(rows[0]), (row) => Option.some(toApproval(row)))
      )
    ))

/** A request for the same runs that is still open, or already granted, is the answer to a second ask. */
const STILL_ASKED: ReadonlySet<string> = new Set(["pending", "approved"])

/**
 * Requests for one schedule take turns (`xactLock`): of two
 * instances that both found no fitting approval (one asking ahead at
 * creation, the other at the first run it claimed), the second gets the
 * first's request instead of adding another to the queue.
 */
const makeRequestStanding = (p: StandingParts) => (req: StandingRequest) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const max = now + (yield* p.config.get).approvals.standing_max_ttl * 1000
    // Pending and approved alike last until then: an approver may take days, the engagement's end is the bound.
    const expires = Math.min(max, req.engagementEndsMs ?? max)
    const approval = standingApproval(req, yield* p.nextId, now, expires)
    const existing = yield* p.store(
      "request",
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(Effect.gen(function*() {
          yield* xactLock(STANDING_REQUESTS, req.subject.scheduleId)
          const latest = yield* latestStanding(req.subject.scheduleId)
          const fits = Option.filter(latest, (a) => a.digest === approval.digest && STILL_ASKED.has(statusAt(a, now)))
          if (Option.isNone(fits)) yield* insertRequested(p, approval, req.requester, now, expires)
          return fits
        })))
    ) as Effect.Effect<Option.Option<Approval>, ApprovalsUnavailable | AuditUnavailable>
    if (Option.isSome(existing)) return { approval: existing.value, stored: false } satisfies StandingAsked
    yield* announceRequested(p.events, approval)
    return { approval, stored: true } satisfies StandingAsked
  })

const makeUseStanding = (p: StandingParts) => (id: string, use: StandingUse) =>
  Effect.gen(function*() {
    for (;;) {
      const found = yield* p.read(id)
      if (Option.isNone(found)) {
        return yield* new ApprovalRefused({ approval_id: id, rule: "not_found", message: `there is no standing approval ${id}` })
      }
      const now = yield* Clock.currentTimeMillis
      yield* coversRun(found.value, use, now)
      const rows: ReadonlyArray<unknown> = yield* p.store(
        "use",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`UPDATE approvals SET used_ms = ${now}
            WHERE id = ${id} AND kind = 'standing' AND status = 'approved' AND digest = ${use.digest} AND expires_ms > ${now}
            RETURNING id`)
      )
      // Revoked or expired between the read and the update: the read again says which.
      if (rows.length > 0) return { ...found.value, used_at: new Date(now).toISOString() } satisfies Approval
    }
  })

const makeRevoke = (p: StandingParts) => (id: string, actor: Caller, reason: string) =>
  Effect.gen(function*() {
    const approval = yield* p.visible(id, actor)
    const now = yield* Clock.currentTimeMillis
    yield* mayRevoke(approval, actor, now)
    const revoked: Approval = { ...approval, status: "revoked", revoked_by: actor.id, revoked_at: new Date(now).toISOString() }
    const won = yield* p.store(
      "revoke",
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`UPDATE approvals SET status = 'revoked', revoked_by = ${actor.id}, revoked_ms = ${now}
            WHERE id = ${id} AND kind = 'standing' AND status = 'approved' AND expires_ms > ${now} RETURNING id`
          if (rows.length === 0) return false
          yield* p.audit.write(p.entry(revoked, actor, "approval:revoked", "revoked"))
          return true
        })))
    )
    if (!won) {
      const current = Option.getOrElse(yield* p.read(id), () => approval)
      return yield* Either.match(mayRevoke(current, actor, now), {
        onLeft: Effect.fail,
        onRight: () => Effect.succeed(current)
      })
    }
    yield* p.events.publish({
      type: "approval.decided",
      approvalId: id,
      decision: "revoked",
      decidedBy: actor.id,
      requestedBy: approval.requested_by,
      engagement: approval.engagement,
      reason
    })
    return revoked
  })

const makeAwaitRevoked = (p: StandingParts) => (id: string) =>
  Effect.scoped(Effect.gen(function*() {
    const revokedHere = yield* p.events.subscribeTo((e) => e.type === "approval.decided" && e.approvalId === id && e.decision === "revoked")
    for (;;) {
      const found = yield* Effect.orElseSucceed(p.read(id), Option.none<Approval>)
      if (Option.isSome(found) && found.value.status === "revoked") return found.value
      yield* Effect.raceFirst(Effect.asVoid(Queue.take(revokedHere)), Effect.sleep(REVOKE_POLL))
    }
  }))

export const makeStanding = (p: StandingParts): StandingService => ({
  requestStanding: makeRequestStanding(p),
  standingFor: (scheduleId) => p.store("standing", latestStanding(scheduleId)),
  useStanding: makeUseStanding(p),
  revoke: makeRevoke(p),
  awaitRevoked: makeAwaitRevoked(p)
})
