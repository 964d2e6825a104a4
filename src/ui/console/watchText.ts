import type { Approval, ApprovalStatus } from "../../Approval.js"
import { statusAt } from "../../approvalStatus.js"
import type { Redelivery } from "../../storage/ScheduleRecord.js"

/**
 * Where a schedule stands with its standing approval, and what a dead
 * letter's retry did, as the console shows them: plain functions over the
 * API's shapes, so the browser and the unit tests agree on them.
 */

export type StandingState =
  | { readonly state: "none" }
  | { readonly state: Exclude<ApprovalStatus, "used">; readonly approval: Approval }

/**
 * A schedule's standing approval state: its newest standing approval (the
 * one the scheduler reads), or none when it never needed one. `used` does
 * not happen to a standing approval (it stays approved across runs).
 */
export const standingState = (approvals: ReadonlyArray<Approval>, scheduleId: string, now: number): StandingState => {
  const latest = approvals
    .filter((a) => a.kind === "standing" && a.schedule_id === scheduleId)
    .reduce<Approval | undefined>((newest, a) => (newest === undefined || a.requested_at > newest.requested_at ? a : newest), undefined)
  if (latest === undefined) return { state: "none" }
  const status = statusAt(latest, now)
  return { state: status === "used" ? "approved" : status, approval: latest }
}

/** The state in words; `when` formats an instant (the browser's locale in the console). */
export const standingText = (standing: StandingState, when: (iso: string) => string): string => {
  switch (standing.state) {
    case "none":
      return "none needed"
    case "pending":
      return `pending (asked by ${standing.approval.requested_by}; decide by ${when(standing.approval.expires_at)})`
    case "approved":
      return `approved by ${standing.approval.decided_by ?? "—"} until ${when(standing.approval.expires_at)}`
    case "denied":
      return `denied by ${standing.approval.decided_by ?? "—"}: ${standing.approval.reason ?? "no reason given"}`
    case "revoked":
      return `revoked by ${standing.approval.revoked_by ?? "—"}${
        standing.approval.revoked_at === null ? "" : ` at ${when(standing.approval.revoked_at)}`
      }`
    case "expired":
      return `expired at ${when(standing.approval.expires_at)}`
  }
}

/** Whether to offer the revoke action: an approved standing approval before its expiry (the server decides who may revoke). */
export const revocable = (approval: Approval, now: number): boolean =>
  approval.kind === "standing" && statusAt(approval, now) === "approved"

/** What one retry of a dead letter did, in words. */
export const redeliveryText = (result: Redelivery): string =>
  result.delivered
    ? `Delivered to ${result.webhook} (attempt ${result.attempts}); the dead letter is removed.`
    : `Not delivered to ${result.webhook} (attempt ${result.attempts}): ${result.error ?? "no reason given"}; the dead letter is kept.`
