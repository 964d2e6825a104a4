import { Either } from "effect"
import { createHash } from "node:crypto"
import type { Approval, ApprovalStatus } from "../Approval.js"
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
  readonly engagement: EngagementRef
  readonly requestedBy: string
}

/**
 * SHA-256 of the subject as one JSON array: any change of a flag, a value,
 * the order of the arguments, the address a name resolved to, the
 * engagement's content or the key makes a different digest.
 */
export const approvalDigest = (subject: ApprovalSubject): string =>
  createHash("sha256").update(
    JSON.stringify([
      "approval/v1",
      subject.tool,
      subject.resolvedTarget,
      subject.argv,
      subject.engagement.name,
      subject.engagement.hash,
      subject.requestedBy
    ]),
    "utf8"
  ).digest("hex")

/** The status as of `now`: a pending or approved approval past its expiry is expired, whatever its row says. */
export const statusAt = (approval: Pick<Approval, "status" | "expires_at">, now: number): ApprovalStatus =>
  (approval.status === "pending" || approval.status === "approved") && Date.parse(approval.expires_at) <= now
    ? "expired"
    : approval.status

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
  if (approval.requested_by !== caller.id) {
    return refused(approval, "not_requester", `approval ${approval.approval_id} was requested by another key; ${again}`)
  }
  const status = statusAt(approval, now)
  switch (status) {
    case "denied":
      return refused(approval, "denied", `${decided(approval, status)}: ${approval.reason ?? "no reason given"}`)
    case "expired":
      return refused(approval, "expired", `approval ${approval.approval_id} expired at ${approval.expires_at}; ${again}`)
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
