import type { Approval } from "../Approval.js"
import type { ScanEntry } from "../storage/ScanRecord.js"

/**
 * The approval a stored scan ran under. A scan record does not name it, but
 * an approval is bound to exactly one call: the tool, the pinned target,
 * the argv, the engagement and its hash, and the requesting key, and it is
 * used once, as that call is admitted. So the scan's approval is the used
 * one that covers what the scan ran (the stored argv is the approved one,
 * behind the resource-limit wrappers) and was used last before it started.
 */

/** Slack for the clocks of two instances sharing one database. */
const SKEW_MS = 5_000

const endsWith = (argv: ReadonlyArray<string>, tail: ReadonlyArray<string>) =>
  tail.length <= argv.length && tail.every((arg, i) => argv[argv.length - tail.length + i] === arg)

const covers = (approval: Approval, scan: ScanEntry): boolean =>
  approval.status === "used" &&
  approval.used_at !== null &&
  approval.tool === scan.tool &&
  approval.resolved_target === scan.resolved_target &&
  approval.requested_by === scan.caller_id &&
  approval.engagement === scan.engagement &&
  approval.engagement_hash === scan.engagement_hash &&
  endsWith(scan.argv, approval.argv.slice(1)) &&
  Date.parse(approval.used_at) <= Date.parse(scan.started_at) + SKEW_MS

export const approvalOf = (scan: ScanEntry, approvals: ReadonlyArray<Approval>): Approval | undefined => {
  if (scan.engagement === null) return undefined
  return approvals
    .filter((approval) => covers(approval, scan))
    .sort((a, b) => Date.parse(b.used_at!) - Date.parse(a.used_at!))[0]
}
