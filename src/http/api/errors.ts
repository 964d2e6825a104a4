import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import {
  ApprovalConflict,
  ApprovalNotFound,
  ApprovalRefused,
  ApprovalRequired,
  ApprovalsUnavailable,
  ArgumentRejected,
  AuditUnavailable,
  CircuitOpen,
  EngagementRejected,
  type ExecutionError,
  Forbidden,
  IntrusiveNotAllowed,
  InvalidInput,
  RateLimited,
  ResourceLimitsUnavailable,
  SpawnFailed,
  TargetRejected,
  ToolBusy,
  ToolDisabled,
  ToolNotFound,
  ToolUnavailable,
  Unauthorized
} from "../../errors.js"
import { ScanNotFound, StoreUnavailable } from "../../storage/errors.js"
import { ScheduleConflict, ScheduleInvalid, ScheduleNotFound } from "../../watch/errors.js"
import { InternalError, NotFound, PayloadTooLarge, TooManyConnections, UnsupportedMediaType } from "../errors.js"
import { errorEnvelope, errorStatus, type HttpError, type HttpErrorTag } from "../errorStatus.js"

/**
 * Each typed error as the REST API sends it: `{ detail: { _tag, message,
 * …fields, retry_after? } }` with the status of `errorStatus`. An endpoint
 * declares the classes it can fail with (`addError(ApiError.ToolNotFound)`),
 * so its handler may fail with exactly those, and OpenAPI lists each status
 * with the union of its bodies, enumerating the `_tag`s.
 */

interface ErrorClass<A extends HttpError> extends Schema.Schema<A, any> {
  readonly _tag: A["_tag"]
  readonly fields: Schema.Struct.Fields
}

const DESCRIPTIONS: { readonly [T in HttpErrorTag]: string } = {
  InvalidInput: "The input, body or query string is invalid (also: an API key in the query string)",
  TargetRejected: "The target is outside the allowed ranges or not a valid target",
  ArgumentRejected: "An argument is not allowed by the tool's flag policy",
  Unauthorized: "Missing, malformed or unknown API key (see WWW-Authenticate)",
  IntrusiveNotAllowed: "The call needs intrusive operations, which the server or the key does not allow",
  Forbidden: "The key lacks the scope, or the Host/Origin header is not allowed (DNS-rebinding protection)",
  ToolNotFound: "No tool has this name",
  NotFound: "No such endpoint",
  ToolDisabled: "An operator disabled the tool",
  PayloadTooLarge: "The body is larger than server.max_body_bytes; the connection is closed after the answer",
  UnsupportedMediaType: "The body is not declared as JSON (Content-Type: application/json)",
  RateLimited: "Too many calls; retry after Retry-After seconds",
  SpawnFailed: "The tool process could not be started",
  InternalError: "A bug in the server (logged)",
  ToolUnavailable: "The tool's binary is not installed",
  CircuitOpen: "The tool failed repeatedly and its circuit breaker is open; retry after Retry-After seconds",
  ToolBusy: "Every slot and queue place of the tool is taken; retry after Retry-After seconds",
  ResourceLimitsUnavailable:
    "prlimit/setpriv are missing, so kernel resource limits cannot be applied (install util-linux or set security.resource_limits: best_effort)",
  AuditUnavailable: "The audit log cannot be written, and this call may not run unaudited (check the audit log's disk and path)",
  TooManyConnections: "server.max_connections connections are open; retry after Retry-After seconds",
  EngagementRejected:
    "The engagement refuses the call: the key may not act in it, it is outside its dates or windows, or the tool's tier is not allowed",
  ApprovalRequired:
    "The call waits for a second person's approval (approval_id, and what the approver sees); call again with approval_id once approved",
  ApprovalRefused: "The approval named does not cover this call (denied, expired, used, another call or another key's)",
  ApprovalsUnavailable: "The call needs an approval and approvals cannot be stored now (storage disabled or not open)",
  ApprovalNotFound: "No approval with this id that this key may see",
  ApprovalConflict: "The approval was decided already, or expired",
  ScanNotFound: "No stored scan with this id that this key may read (a key sees only its own scans unless it has admin)",
  StoreUnavailable: "The scan store cannot be read now (storage disabled, database down or not open yet); see /health",
  ScheduleNotFound: "No schedule with this id that this key may see (a key sees only its own unless it has admin)",
  ScheduleInvalid: "The schedule cannot run as sent: its fields, timing (cron or interval), tool or webhooks (see issues)",
  ScheduleConflict: "The key has a schedule of that name already, or the schedule belongs to the configuration"
}

const envelope = <A extends HttpError>(error: ErrorClass<A>): Schema.Schema<A, unknown> => {
  const detail = Schema.Struct({
    ...error.fields,
    retry_after: Schema.optionalWith(
      Schema.Int.annotations({ description: "Seconds to wait before retrying (also in the Retry-After header)" }),
      { exact: true }
    )
  })
  return Schema.transform(Schema.Struct({ detail }), error, {
    strict: false,
    decode: ({ detail: { retry_after: _retryAfter, ...fields } }) => fields,
    encode: (_encoded, typed) => errorEnvelope(typed)
  }).annotations(HttpApiSchema.annotations({
    identifier: error._tag,
    description: DESCRIPTIONS[error._tag],
    status: errorStatus(error._tag)
  })) as any
}

/** One REST error schema per `_tag`. */
export const ApiError = {
  InvalidInput: envelope(InvalidInput),
  TargetRejected: envelope(TargetRejected),
  ArgumentRejected: envelope(ArgumentRejected),
  Unauthorized: envelope(Unauthorized),
  IntrusiveNotAllowed: envelope(IntrusiveNotAllowed),
  Forbidden: envelope(Forbidden),
  ToolNotFound: envelope(ToolNotFound),
  NotFound: envelope(NotFound),
  ToolDisabled: envelope(ToolDisabled),
  PayloadTooLarge: envelope(PayloadTooLarge),
  UnsupportedMediaType: envelope(UnsupportedMediaType),
  RateLimited: envelope(RateLimited),
  SpawnFailed: envelope(SpawnFailed),
  InternalError: envelope(InternalError),
  ToolUnavailable: envelope(ToolUnavailable),
  CircuitOpen: envelope(CircuitOpen),
  ToolBusy: envelope(ToolBusy),
  ResourceLimitsUnavailable: envelope(ResourceLimitsUnavailable),
  AuditUnavailable: envelope(AuditUnavailable),
  TooManyConnections: envelope(TooManyConnections),
  EngagementRejected: envelope(EngagementRejected),
  ApprovalRequired: envelope(ApprovalRequired),
  ApprovalRefused: envelope(ApprovalRefused),
  ApprovalsUnavailable: envelope(ApprovalsUnavailable),
  ApprovalNotFound: envelope(ApprovalNotFound),
  ApprovalConflict: envelope(ApprovalConflict),
  ScanNotFound: envelope(ScanNotFound),
  StoreUnavailable: envelope(StoreUnavailable),
  ScheduleNotFound: envelope(ScheduleNotFound),
  ScheduleInvalid: envelope(ScheduleInvalid),
  ScheduleConflict: envelope(ScheduleConflict)
} satisfies { readonly [T in HttpErrorTag]: Schema.Schema<Extract<HttpError, { readonly _tag: T }>, unknown> }

export const HTTP_ERROR_TAGS: ReadonlySet<string> = new Set(Object.keys(ApiError))

/** The REST error schemas of `tags`, for one `addError`: each keeps its own status, and a handler may fail with exactly these. */
export const apiErrors = <const Tags extends ReadonlyArray<HttpErrorTag>>(
  ...tags: Tags
): Schema.Schema<Extract<HttpError, { readonly _tag: Tags[number] }>, unknown> => Schema.Union(...tags.map((tag) => ApiError[tag])) as any

/** Every failure of an execution: a record, so the compiler checks it against `ExecutionError` both ways. */
const EXECUTION_ERROR_TAGS: { readonly [T in ExecutionError["_tag"]]: null } = {
  TargetRejected: null,
  ArgumentRejected: null,
  IntrusiveNotAllowed: null,
  InvalidInput: null,
  ToolNotFound: null,
  ToolDisabled: null,
  ToolUnavailable: null,
  CircuitOpen: null,
  RateLimited: null,
  ToolBusy: null,
  SpawnFailed: null,
  ResourceLimitsUnavailable: null,
  AuditUnavailable: null,
  Forbidden: null,
  EngagementRejected: null,
  ApprovalRequired: null,
  ApprovalRefused: null,
  ApprovalsUnavailable: null
}
export const EXECUTION_ERRORS = Object.keys(EXECUTION_ERROR_TAGS) as ReadonlyArray<ExecutionError["_tag"]>

/** The union of every REST error body, as the `Error` component of the OpenAPI document. */
export const AnyApiError = Schema.Union(...Object.values(ApiError)).annotations({
  identifier: "Error",
  description: "Every error body the REST API sends: { detail: { _tag, message, …fields, retry_after? } }"
})
