import { Either } from "effect"
import { createHash } from "node:crypto"
import type { Approval, ApprovalStatus } from "../Approval.js"
import { statusAt } from "../approvalStatus.js"
import { ApprovalConflict, ApprovalRefused, Forbidden } from "../errors.js"
import { type Caller, inEngagement } from "../identity/Caller.js"
import type { Engagement, EngagementRef } from "./Engagement.js"

/**
 * The approval rules, as plain functions: which calls need one, what an
 * approval is bound to, who may decide it, and whether it covers a call.
 */

/** Whether a call in `engagement` needs a second person's approval before it runs. */
export const needsApproval = (engagement: Engagement, intrusive: boolean): boolean =>
  engagement.approval === "all" || (engagement.approval === "intrusive" && intrusive)

/** Exactly what would run, and for whom: the approval's digest covers these fields and nothing else. */
export interface ApprovalSubject {
  readonly tool: string
  /** The pinned target: the address or network the tool is given. */
  readonly resolvedTarget: string
  readonly argv: ReadonlyArray<string>
  /** The seconds the run may take: a longer run is a different call. */
  readonly timeoutSeconds: number
  readonly engagement: EngagementRef
  readonly requestedBy: string
}

/**
 * SHA-256 of the subject as one JSON array: any change of a flag, a value,
 * the order of the arguments, the address a name resolved to, the timeout,
 * the engagement's content or the key makes a different digest.
 */
export const approvalDigest = (subject: ApprovalSubject): string =>
  createHash("sha256").update(
    JSON.stringify([
      "approval/v2",
      subject.tool,
      subject.resolvedTarget,
      subject.argv,
      subject.timeoutSeconds,
      subject.engagement.name,
      subject.engagement.hash,
      subject.requestedBy
    ]),
    "utf8"
  ).digest("hex")

/**
 * What every run of a schedule executes, as its standing approval covers it:
 * the schedule, its call as written (target, arguments or template, not a
 * resolved address: each run resolves and is checked again), the engagement
 * with its hash, the max runtime and the seconds a run may take, and the
 * owner the runs act as.
 */
export interface StandingSubject {
  readonly scheduleId: string
  readonly tool: string
  readonly target: string
  readonly args: ReadonlyArray<string>
  readonly template: string | null
  /**
   * What each run executes as configured today: the tool's binary and fixed
   * arguments, then the arguments its template and args give. An operator
   * who points a custom tool at another binary or edits a template changes
   * what the approver approved, though the schedule reads the same.
   */
  readonly command: ReadonlyArray<string>
  readonly maxRuntime: number | null
  /**
   * The seconds each run may take: `maxRuntime`, or the tool's configured
   * timeout when it has none, within the limits. An operator who raises a
   * tool's timeout changes what the approver approved.
   */
  readonly timeoutSeconds: number
  /** The cadence approved with it: the same runs at a shorter interval or another cron are a different request. */
  readonly cron?: string | null
  readonly interval?: number | null
  readonly engagement: EngagementRef
  readonly requestedBy: string
}

/** SHA-256 of the standing subject: a changed schedule, command, cadence, scope or owner needs a new standing approval. */
export const standingDigest = (subject: StandingSubject): string =>
  createHash("sha256").update(
    JSON.stringify([
      "standing/v4",
      subject.scheduleId,
      subject.tool,
      subject.target,
      subject.args,
      subject.template,
      subject.command,
      subject.maxRuntime,
      subject.timeoutSeconds,
      subject.cron ?? null,
      subject.interval ?? null,
      subject.engagement.name,
      subject.engagement.hash,
      subject.requestedBy
    ]),
    "utf8"
  ).digest("hex")

/** Who may see an approval: its requester, approvers in its engagement, and admins. */
export const mayView = (approval: Approval, viewer: Caller): boolean =>
  approval.requested_by === viewer.id || viewer.scopes.has("admin") ||
  (viewer.scopes.has("approve") && inEngagement(viewer, approval.engagement))

const decided = (approval: Approval, status: ApprovalStatus) =>
  status === "expired"
    ? `approval ${approval.approval_id} expired at ${approval.expires_at}; the requester calls again to request a new one`
    : `approval ${approval.approval_id} is already ${status}${approval.decided_by === null ? "" : ` by ${approval.decided_by}`}`

/**
 * Whether `approver` may decide `approval` now: a key with the approve scope
 * in the approval's engagement, never the requester itself (unless the
 * operator set the single-operator lab switch), while it is still pending.
 */
export const mayDecide = (
  approval: Approval,
  approver: Caller,
  options: { readonly allowSelfApproval: boolean; readonly now: number }
): Either.Either<void, Forbidden | ApprovalConflict> => {
  if (!approver.scopes.has("approve")) {
    return Either.left(new Forbidden({ message: `${approver.id} lacks the approve scope, so it cannot decide approvals` }))
  }
  if (!inEngagement(approver, approval.engagement)) {
    return Either.left(new Forbidden({ message: `${approver.id} is not an approver of engagement ${approval.engagement}` }))
  }
  if (approval.requested_by === approver.id && !options.allowSelfApproval) {
    return Either.left(
      new Forbidden({
        message:
          `${approver.id} requested this call, so it cannot approve or deny it: a second person (another key with the approve scope) decides`
      })
    )
  }
  const status = statusAt(approval, options.now)
  return status === "pending"
    ? Either.void
    : Either.left(new ApprovalConflict({ approval_id: approval.approval_id, status, message: decided(approval, status) }))
}

const refused = (approval: Approval, rule: string, message: string) =>
  Either.left(new ApprovalRefused({ approval_id: approval.approval_id, rule, message }))

/**
 * Whether `approval` covers a call with `digest` by `caller` at `now`.
 * `pending` is not an error here: the caller is told again that the call
 * waits (see `ApprovalRequired`).
 */
export const covers = (
  approval: Approval,
  digest: string,
  caller: Caller,
  now: number
): Either.Either<"approved" | "pending", ApprovalRefused> => {
  const again = "call again without approval_id to request a new approval"
  if (approval.kind === "standing") {
    return refused(approval, "standing", `approval ${approval.approval_id} is a schedule's standing approval; only its runs use it`)
  }
  if (approval.requested_by !== caller.id) {
    return refused(approval, "not_requester", `approval ${approval.approval_id} was requested by another key; ${again}`)
  }
  const status = statusAt(approval, now)
  switch (status) {
    case "denied":
      return refused(approval, "denied", `${decided(approval, status)}: ${approval.reason ?? "no reason given"}`)
    case "expired":
      return refused(approval, "expired", `approval ${approval.approval_id} expired at ${approval.expires_at}; ${again}`)
    case "revoked":
      return refused(approval, "revoked", `approval ${approval.approval_id} was revoked by ${approval.revoked_by}; ${again}`)
    case "used":
      return refused(approval, "used", `approval ${approval.approval_id} was used at ${approval.used_at}; an approval runs once; ${again}`)
    case "pending":
    case "approved":
      if (approval.digest !== digest) {
        return refused(
          approval,
          "digest_mismatch",
          `this call is not the one approval ${approval.approval_id} covers (${
            approval.argv.join(" ")
          } against ${approval.resolved_target} in ${approval.engagement}): the tool, target, arguments, engagement and key must be exactly the same; ${again}`
        )
      }
      return Either.right(status)
  }
}

/** What a scheduled run checks its standing approval against, at the moment it runs. */
export interface StandingUse {
  readonly scheduleId: string
  readonly digest: string
  readonly tool: string
  readonly engagement: EngagementRef
  readonly caller: Caller
}

/**
 * Whether the standing approval covers this run of its schedule at `now`:
 * approved, not expired or revoked, of this schedule and owner, for exactly
 * this schedule's call, in the engagement as it is now (a changed scope has
 * another hash). The rule names the reason a run is skipped.
 */
export const coversRun = (approval: Approval, use: StandingUse, now: number): Either.Either<void, ApprovalRefused> => {
  const id = approval.approval_id
  if (approval.kind !== "standing" || approval.schedule_id !== use.scheduleId) {
    return refused(approval, "not_standing", `approval ${id} is not the standing approval of schedule ${use.scheduleId}`)
  }
  if (approval.requested_by !== use.caller.id) {
    return refused(approval, "not_requester", `standing approval ${id} was requested for ${approval.requested_by}, not ${use.caller.id}`)
  }
  const status = statusAt(approval, now)
  if (status !== "approved") {
    const by = status === "revoked" ? ` by ${approval.revoked_by}` : status === "denied" ? ` by ${approval.decided_by}` : ""
    return refused(approval, status, `standing approval ${id} is ${status}${by}`)
  }
  if (approval.engagement_hash !== use.engagement.hash || approval.engagement !== use.engagement.name) {
    return refused(
      approval,
      "scope_changed",
      `engagement ${use.engagement.name} changed since standing approval ${id} was requested (scope hash ${
        approval.engagement_hash.slice(0, 12)
      } is now ${use.engagement.hash.slice(0, 12)})`
    )
  }
  if (approval.digest !== use.digest || approval.tool !== use.tool) {
    return refused(approval, "schedule_changed", `schedule ${use.scheduleId} changed since standing approval ${id} was approved`)
  }
  return Either.void
}

/**
 * Whether `actor` may revoke `approval` now: an approved standing approval,
 * by an approver in its engagement, an admin, or the owner it covers (taking
 * a right away needs no second person).
 */
export const mayRevoke = (approval: Approval, actor: Caller, now: number): Either.Either<void, Forbidden | ApprovalConflict> => {
  const allowed = approval.requested_by === actor.id || actor.scopes.has("admin") ||
    (actor.scopes.has("approve") && inEngagement(actor, approval.engagement))
  if (!allowed) {
    return Either.left(
      new Forbidden({ message: `${actor.id} may not revoke approval ${approval.approval_id}: its owner, an approver or an admin may` })
    )
  }
  const status = statusAt(approval, now)
  if (approval.kind !== "standing" || status !== "approved") {
    return Either.left(
      new ApprovalConflict({
        approval_id: approval.approval_id,
        status,
        message: approval.kind !== "standing"
          ? `approval ${approval.approval_id} covers one call; only an approved standing approval is revoked (deny a pending one)`
          : decided(approval, status)
      })
    )
  }
  return Either.void
}
