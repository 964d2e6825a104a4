import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Clock, Context, Duration, Effect, Either, Layer, Option, type ParseResult, Queue } from "effect"
import type { Approval, ApprovalKind, ApprovalStatus } from "../Approval.js"
import { statusAt } from "../approvalStatus.js"
import { ConfigService } from "../config/ConfigService.js"
import {
  ApprovalConflict,
  ApprovalNotFound,
  ApprovalRefused,
  ApprovalRequired,
  ApprovalsUnavailable,
  type AuditUnavailable,
  type Forbidden
} from "../errors.js"
import { Events } from "../events/Events.js"
import type { Caller } from "../identity/Caller.js"
import { type AuditEntry, AuditLog } from "../observability/AuditLog.js"
import { approvalDigest, type ApprovalSubject, covers, mayDecide, mayView } from "../policy/approval.js"
import { APPROVAL_COLUMNS, decodeApprovalRow, toApproval, UNDECIDED } from "./approvalRows.js"
import { Database } from "./Database.js"
import type { StoreUnavailable } from "./errors.js"
import { makeStanding, type StandingService, storeRequested } from "./standingApprovals.js"
import { isUlid, makeUlidGenerator } from "./ulid.js"

/**
 * Approvals: a call that needs one becomes a pending approval bound to the
 * digest of exactly what would run; a key with the approve scope (never the
 * requester) approves or denies it once; the requester's retry uses it once.
 * Both transitions are conditional updates, so of two approvers deciding at
 * once exactly one wins, and of two retries exactly one runs. Every request
 * and decision is audited with both identities and published as an event.
 * Stored in the shared database, so a pending approval survives a restart
 * (and, on PostgreSQL, is seen by every instance).
 */

/** A call that needs approval, as planned: its subject (what the digest covers) and what the approver is shown besides. */
export interface ApprovalRequest {
  readonly subject: ApprovalSubject
  readonly requester: Caller
  readonly target: string
  readonly intrusive: boolean
  readonly intrusiveReasons: ReadonlyArray<string>
  readonly correlationId: string
}

export type Decision = "approved" | "denied"

export interface ApprovalsService extends StandingService {
  /** Stores a pending approval (audited, announced) and returns the `ApprovalRequired` the caller gets. */
  readonly request: (request: ApprovalRequest) => Effect.Effect<ApprovalRequired, ApprovalsUnavailable | AuditUnavailable>
  readonly get: (id: string, viewer: Caller) => Effect.Effect<Approval, ApprovalNotFound | ApprovalsUnavailable>
  /** The newest approvals `viewer` may see, optionally with one status only. */
  readonly list: (
    viewer: Caller,
    status?: ApprovalStatus,
    kind?: ApprovalKind
  ) => Effect.Effect<ReadonlyArray<Approval>, ApprovalsUnavailable>
  readonly decide: (
    id: string,
    decision: Decision,
    approver: Caller,
    reason: string
  ) => Effect.Effect<Approval, ApprovalNotFound | ApprovalConflict | Forbidden | ApprovalsUnavailable | AuditUnavailable>
  /**
   * Uses the approval `id` for the call with `digest`, once: fails with
   * `ApprovalRequired` while it is pending, `ApprovalRefused` when it does
   * not cover the call.
   */
  readonly use: (
    id: string,
    digest: string,
    caller: Caller
  ) => Effect.Effect<Approval, ApprovalRefused | ApprovalRequired | ApprovalsUnavailable>
  /** Waits until the approval is no longer pending (decided, or expired). */
  readonly awaitDecision: (id: string) => Effect.Effect<void, ApprovalsUnavailable>
}

export class Approvals extends Context.Tag("security-mcp/Approvals")<Approvals, ApprovalsService>() {
  static readonly layer: Layer.Layer<Approvals, never, Database | ConfigService | AuditLog | Events> = Layer.effect(
    Approvals,
    Effect.suspend(() => makeApprovals)
  )
}

/** How often a waiter re-reads an approval, for decisions made by another instance (local ones wake it at once). */
const POLL = Duration.seconds(2)

/** The newest approvals a list reads before filtering by viewer and status. */
const LIST_LIMIT = 500

const isStoreUnavailable = (error: unknown): error is StoreUnavailable =>
  typeof error === "object" && error !== null && (error as { readonly _tag?: unknown })._tag === "StoreUnavailable"

const unavailable = (error: StoreUnavailable) =>
  new ApprovalsUnavailable({
    message: `approvals cannot be stored or read now, so this call cannot be approved: ${error.message}`
  })

const approvalRequired = (approval: Approval, now: number) =>
  new ApprovalRequired({
    approval_id: approval.approval_id,
    status: statusAt(approval, now),
    expires_at: approval.expires_at,
    approval,
    message: `this call needs a second person's approval (engagement ${approval.engagement}) and did not run. ` +
      `It is approval ${approval.approval_id}, pending until ${approval.expires_at}: an approver (another key with the approve scope) ` +
      `approves it with POST /approvals/${approval.approval_id}/approve. Then call again with exactly the same arguments plus ` +
      `approval_id: "${approval.approval_id}"; a changed call needs a new approval.`
  })

/** `mayView` as a condition: the viewer's own requests, those of the engagements it approves in, or all for an admin. */
const visibleTo = (sql: SqlClient.SqlClient, viewer: Caller): ReadonlyArray<Fragment> => {
  const approves = viewer.scopes.has("approve") ? viewer.engagements ?? [] : []
  if (viewer.scopes.has("admin") || approves === "any") return []
  const own = sql`requested_by = ${viewer.id}`
  return [approves.length === 0 ? own : sql.or([own, sql.in("engagement", approves)])]
}

/** `statusAt` as a condition: a pending or approved row past its expiry is expired. */
const withStatus = (sql: SqlClient.SqlClient, status: ApprovalStatus | undefined, now: number): ReadonlyArray<Fragment> => {
  switch (status) {
    case undefined:
      return []
    case "pending":
    case "approved":
      return [sql`status = ${status}`, sql`expires_ms > ${now}`]
    case "expired":
      return [sql.or([sql`status = 'expired'`, sql.and([sql.in("status", ["pending", "approved"]), sql`expires_ms <= ${now}`])])]
    default:
      return [sql`status = ${status}`]
  }
}

const selectOne = (id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql`SELECT ${sql.literal(APPROVAL_COLUMNS)} FROM approvals WHERE id = ${id}`
    return rows[0] === undefined ? Option.none() : Option.some(toApproval(yield* decodeApprovalRow(rows[0])))
  })

const auditEntry = (approval: Approval, actor: Caller, decision: AuditEntry["decision"], outcome: AuditEntry["outcome"]) => ({
  caller: actor,
  tool: approval.tool,
  target: approval.target,
  resolvedTarget: approval.resolved_target,
  argv: approval.argv,
  decision,
  outcome,
  durationSeconds: 0,
  intrusive: approval.intrusive,
  correlationId: approval.correlation_id,
  error: null,
  engagement: { name: approval.engagement, hash: approval.engagement_hash },
  approval: { id: approval.approval_id, requestedBy: approval.requested_by, decidedBy: approval.decided_by }
} satisfies AuditEntry)

const makeApprovals = Effect.gen(function*() {
  const db = yield* Database
  const config = yield* ConfigService
  const audit = yield* AuditLog
  const events = yield* Events
  const nextId = yield* makeUlidGenerator
  const store: Parts["store"] = (operation, query) =>
    db.use(`approvals.${operation}`, query).pipe(
      Effect.mapError((e) => (isStoreUnavailable(e) ? unavailable(e) : e))
    ) as Effect.Effect<any, any>
  // Approval ids are ULIDs: anything else is not there, and never reaches the database (PostgreSQL refuses NUL in text).
  const read = (id: string) => isUlid(id) ? store("get", selectOne(id)) : Effect.succeed(Option.none<Approval>())

  const request = makeRequest({ store, read, audit, events, config, nextId })

  const visible = (id: string, viewer: Caller) =>
    Effect.flatMap(read(id), (found) =>
      Option.isSome(found) && mayView(found.value, viewer)
        ? Effect.succeed(found.value)
        : Effect.fail(
          new ApprovalNotFound({
            approval_id: id,
            message: `no approval ${id} that ${viewer.id} may see (requesters see their own, approvers those of their engagements)`
          })
        ))

  const withStatusNow = (approval: Approval, now: number): Approval => ({ ...approval, status: statusAt(approval, now) })

  const get = (id: string, viewer: Caller) =>
    Effect.flatMap(visible(id, viewer), (approval) => Effect.map(Clock.currentTimeMillis, (now) => withStatusNow(approval, now)))

  // Filtered in the query, before the limit: another key's flood of requests must not push these out of the page.
  const list = (viewer: Caller, status?: ApprovalStatus, kind?: ApprovalKind) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const rows = yield* store(
        "list",
        Effect.flatMap(
          SqlClient.SqlClient,
          (sql) =>
            sql`SELECT ${sql.literal(APPROVAL_COLUMNS)} FROM approvals
              WHERE ${
              sql.and([...visibleTo(sql, viewer), ...withStatus(sql, status, now), ...(kind === undefined ? [] : [sql`kind = ${kind}`])])
            } ORDER BY id DESC LIMIT ${LIST_LIMIT}`
        ).pipe(Effect.flatMap((all) => Effect.forEach(all, (row) => Effect.map(decodeApprovalRow(row), toApproval))))
      )
      return rows.map((a) => withStatusNow(a, now)).filter((a) => mayView(a, viewer) && (status === undefined || a.status === status))
    })

  const decide = makeDecide({ visible, store, read, audit, events, config })
  const use = makeUse({ read, store })

  /** Wakes on a local decision at once, re-reads every POLL for decisions made elsewhere, and stops at the expiry. */
  const awaitDecision = (id: string) =>
    Effect.scoped(Effect.gen(function*() {
      const queue = yield* events.subscribeTo((e) => e.type === "approval.decided" && e.approvalId === id)
      const decided = Effect.asVoid(Queue.take(queue))
      for (;;) {
        const found = yield* read(id)
        const now = yield* Clock.currentTimeMillis
        if (Option.isNone(found) || statusAt(found.value, now) !== "pending") return
        const left = Math.max(0, Date.parse(found.value.expires_at) - now)
        yield* Effect.raceFirst(decided, Effect.sleep(Duration.min(POLL, Duration.millis(left))))
      }
    }))

  const standing = makeStanding({ read, visible, store, audit, events, config, nextId, entry: auditEntry })
  return { request, get, list, decide, use, awaitDecision, ...standing } satisfies ApprovalsService
})

/** A new pending approval: stored with its audit line in one transaction, then announced. */
const makeRequest = (
  parts: Parts & {
    readonly audit: AuditLog["Type"]
    readonly events: Events["Type"]
    readonly config: ConfigService["Type"]
    readonly nextId: Effect.Effect<string>
  }
) =>
(req: ApprovalRequest) =>
  Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const ttl = (yield* parts.config.get).approvals.ttl * 1000
    const { subject } = req
    const approval: Approval = {
      approval_id: yield* parts.nextId,
      kind: "call",
      schedule_id: null,
      status: "pending",
      tool: subject.tool,
      target: req.target,
      resolved_target: subject.resolvedTarget,
      argv: subject.argv,
      intrusive: req.intrusive,
      intrusive_reasons: req.intrusiveReasons,
      engagement: subject.engagement.name,
      engagement_hash: subject.engagement.hash,
      requested_by: subject.requestedBy,
      requested_at: new Date(now).toISOString(),
      expires_at: new Date(now + ttl).toISOString(),
      ...UNDECIDED,
      correlation_id: req.correlationId,
      digest: approvalDigest(subject)
    }
    yield* storeRequested({ ...parts, entry: auditEntry }, approval, req.requester, now, now + ttl)
    return approvalRequired(approval, now)
  })

interface Parts {
  readonly read: (id: string) => Effect.Effect<Option.Option<Approval>, ApprovalsUnavailable>
  readonly store: <A, E>(
    operation: string,
    query: Effect.Effect<A, E, SqlClient.SqlClient>
  ) => Effect.Effect<A, Exclude<E, SqlError | ParseResult.ParseError | StoreUnavailable> | ApprovalsUnavailable>
}

/** The conditional update of a decision and its audit line, in one transaction: a line that cannot be written undoes it. */
const makeDecide = (
  parts: Parts & {
    readonly visible: (id: string, viewer: Caller) => Effect.Effect<Approval, ApprovalNotFound | ApprovalsUnavailable>
    readonly audit: AuditLog["Type"]
    readonly events: Events["Type"]
    readonly config: ConfigService["Type"]
  }
) =>
(id: string, decision: Decision, approver: Caller, reason: string) =>
  Effect.gen(function*() {
    const approval = yield* parts.visible(id, approver)
    const now = yield* Clock.currentTimeMillis
    const c = yield* parts.config.get
    yield* mayDecide(approval, approver, { allowSelfApproval: c.approvals.allow_self_approval_single_operator_lab, now })
    // An approved call gets a whole ttl to run from its approval, however long the decision took; a standing one keeps its bound.
    const expires = decision === "approved" && approval.kind === "call" ? now + c.approvals.ttl * 1000 : Date.parse(approval.expires_at)
    const decided: Approval = {
      ...approval,
      status: decision,
      decided_by: approver.id,
      decided_at: new Date(now).toISOString(),
      reason,
      expires_at: new Date(expires).toISOString()
    }
    const won = yield* parts.store(
      "decide",
      Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql`UPDATE approvals SET status = ${decision}, decided_by = ${approver.id}, decided_ms = ${now},
            reason = ${reason}, expires_ms = ${expires}
            WHERE id = ${id} AND status = 'pending' AND expires_ms > ${now} RETURNING id`
          if (rows.length === 0) return false
          yield* parts.audit.write(auditEntry(decided, approver, `approval:${decision}`, decision))
          return true
        })))
    )
    if (!won) {
      const current = Option.getOrElse(yield* parts.read(id), () => approval)
      return yield* mayDecide(current, approver, { allowSelfApproval: true, now }).pipe(
        Either.match({
          onLeft: Effect.fail,
          onRight: () =>
            Effect.fail(new ApprovalConflict({ approval_id: id, status: current.status, message: `approval ${id} changed meanwhile` }))
        })
      )
    }
    yield* parts.events.publish({
      type: "approval.decided",
      approvalId: id,
      decision,
      decidedBy: approver.id,
      requestedBy: approval.requested_by,
      engagement: approval.engagement,
      reason
    })
    return decided
  })

const notFound = (id: string) =>
  new ApprovalRefused({
    approval_id: id,
    rule: "not_found",
    message: `there is no approval ${id}; call again without approval_id to request one`
  })

/** Checks that the approval covers the call, then marks it used with a conditional update, so only one retry runs. */
const makeUse = (parts: Parts) => (id: string, digest: string, caller: Caller) =>
  Effect.gen(function*() {
    for (;;) {
      const found = yield* parts.read(id)
      if (Option.isNone(found)) return yield* notFound(id)
      const approval = found.value
      const now = yield* Clock.currentTimeMillis
      const verdict = yield* covers(approval, digest, caller, now)
      if (verdict === "pending") return yield* approvalRequired(approval, now)
      const rows = yield* parts.store(
        "use",
        Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql`UPDATE approvals SET status = 'used', used_ms = ${now}
            WHERE id = ${id} AND status = 'approved' AND digest = ${digest} AND expires_ms > ${now} RETURNING id`)
      )
      // Lost a race (another retry used it, or it expired this instant): read it again, which says why.
      if (rows.length > 0) return { ...approval, status: "used", used_at: new Date(now).toISOString() } satisfies Approval
    }
  })
