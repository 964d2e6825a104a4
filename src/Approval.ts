import { Schema } from "effect"

/**
 * A request to run one exact call that a second person must approve first,
 * as approvers, requesters and the REST API see it. It is bound to `digest`:
 * the hash of the tool, the pinned target, the argv, the engagement and its
 * hash, and the requesting key, so an approval covers that call and no other.
 */

export const ApprovalStatus = Schema.Literal("pending", "approved", "denied", "used", "expired")
export type ApprovalStatus = typeof ApprovalStatus.Type

const instant = (description: string) => Schema.String.annotations({ description, jsonSchema: { type: "string", format: "date-time" } })
const nullableInstant = (description: string) =>
  Schema.NullOr(Schema.String).annotations({ description, jsonSchema: { type: ["string", "null"], format: "date-time" } })

export const Approval = Schema.Struct({
  approval_id: Schema.String,
  status: ApprovalStatus.annotations({
    description: "pending until decided; approved until used (once) or expired; denied; used; expired when its time ran out"
  }),
  tool: Schema.String,
  target: Schema.String.annotations({ description: "The target as the caller wrote it" }),
  resolved_target: Schema.String.annotations({ description: "The address or network the tool will be given" }),
  argv: Schema.Array(Schema.String).annotations({ description: "Exactly the command line that will run, binary first" }),
  intrusive: Schema.Boolean,
  intrusive_reasons: Schema.Array(Schema.String).annotations({ description: "What makes the call intrusive (-A, --script vuln …)" }),
  engagement: Schema.String,
  engagement_hash: Schema.String.annotations({ description: "SHA-256 of the engagement's content when the call was requested" }),
  requested_by: Schema.String.annotations({ description: "The requesting key's id" }),
  requested_at: instant("When the call was requested"),
  expires_at: instant("Until then it may be decided (pending) or used (approved)"),
  decided_by: Schema.NullOr(Schema.String).annotations({ description: "The approver's key id" }),
  decided_at: nullableInstant("When it was approved or denied"),
  reason: Schema.NullOr(Schema.String).annotations({ description: "The approver's reason" }),
  used_at: nullableInstant("When the approved call was admitted to run"),
  correlation_id: Schema.String.annotations({ description: "The correlation id of the call that requested it" }),
  digest: Schema.String.annotations({ description: "SHA-256 of what exactly will run; the run must match it" })
})
export type Approval = typeof Approval.Type
