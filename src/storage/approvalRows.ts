import { Schema } from "effect"
import { type Approval, ApprovalKind, ApprovalStatus } from "../Approval.js"

/** The `approvals` row: how approvals are written and read back, alike on SQLite and PostgreSQL. */

/** PostgreSQL returns BIGINT as text; SQLite as a number. */
const DbNumber = Schema.Union(Schema.Number, Schema.NumberFromString)
const JsonStrings = Schema.parseJson(Schema.Array(Schema.String))
const nullableString = Schema.NullOr(Schema.String)

export const ApprovalRow = Schema.Struct({
  id: Schema.String,
  digest: Schema.String,
  status: ApprovalStatus,
  tool: Schema.String,
  target: Schema.String,
  resolved_target: Schema.String,
  argv: JsonStrings,
  intrusive: DbNumber,
  intrusive_reasons: JsonStrings,
  engagement: Schema.String,
  engagement_hash: Schema.String,
  requested_by: Schema.String,
  correlation_id: Schema.String,
  requested_ms: DbNumber,
  expires_ms: DbNumber,
  decided_by: nullableString,
  decided_ms: Schema.NullOr(DbNumber),
  reason: nullableString,
  used_ms: Schema.NullOr(DbNumber),
  kind: ApprovalKind,
  schedule_id: nullableString,
  revoked_by: nullableString,
  revoked_ms: Schema.NullOr(DbNumber)
})
export type ApprovalRow = typeof ApprovalRow.Type

export const APPROVAL_COLUMNS = Object.keys(ApprovalRow.fields).join(", ")

export const decodeApprovalRow = Schema.decodeUnknown(ApprovalRow)

const encodeStrings = Schema.encodeSync(JsonStrings)

const iso = (millis: number) => new Date(millis).toISOString()
const isoOrNull = (millis: number | null) => (millis === null ? null : iso(millis))

export const toApproval = (row: ApprovalRow): Approval => ({
  approval_id: row.id,
  kind: row.kind,
  schedule_id: row.schedule_id,
  status: row.status,
  tool: row.tool,
  target: row.target,
  resolved_target: row.resolved_target,
  argv: row.argv,
  intrusive: row.intrusive !== 0,
  intrusive_reasons: row.intrusive_reasons,
  engagement: row.engagement,
  engagement_hash: row.engagement_hash,
  requested_by: row.requested_by,
  requested_at: iso(row.requested_ms),
  expires_at: iso(row.expires_ms),
  decided_by: row.decided_by,
  decided_at: isoOrNull(row.decided_ms),
  reason: row.reason,
  used_at: isoOrNull(row.used_ms),
  revoked_by: row.revoked_by,
  revoked_at: isoOrNull(row.revoked_ms),
  correlation_id: row.correlation_id,
  digest: row.digest
})

/** A new approval's decision fields: nobody decided, used or revoked it yet. */
export const UNDECIDED = {
  decided_by: null,
  decided_at: null,
  reason: null,
  used_at: null,
  revoked_by: null,
  revoked_at: null
} as const

/** The columns of a new pending approval. */
export const pendingColumns = (approval: Approval, requestedMs: number, expiresMs: number) => ({
  id: approval.approval_id,
  digest: approval.digest,
  status: "pending",
  tool: approval.tool,
  target: approval.target,
  resolved_target: approval.resolved_target,
  argv: encodeStrings(approval.argv),
  intrusive: approval.intrusive ? 1 : 0,
  intrusive_reasons: encodeStrings(approval.intrusive_reasons),
  engagement: approval.engagement,
  engagement_hash: approval.engagement_hash,
  requested_by: approval.requested_by,
  correlation_id: approval.correlation_id,
  requested_ms: requestedMs,
  expires_ms: expiresMs,
  decided_by: null,
  decided_ms: null,
  reason: null,
  used_ms: null,
  kind: approval.kind,
  schedule_id: approval.schedule_id,
  revoked_by: null,
  revoked_ms: null
})
