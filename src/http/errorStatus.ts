import type { ApprovalConflict, ApprovalNotFound, ExecutionError, InvalidInput, Unauthorized } from "../errors.js"
import { type ErrorBody, errorBody } from "../errors.js"
import type { ScanNotFound, StoreUnavailable } from "../storage/errors.js"
import type { ScheduleConflict, ScheduleInvalid, ScheduleNotFound } from "../watch/errors.js"
import type { InternalError, NotFound, PayloadTooLarge, TooManyConnections, UnsupportedMediaType } from "./errors.js"

export type HttpError =
  | ExecutionError
  | InvalidInput
  | Unauthorized
  | PayloadTooLarge
  | UnsupportedMediaType
  | TooManyConnections
  | NotFound
  | InternalError
  | ApprovalNotFound
  | ApprovalConflict
  | ScanNotFound
  | StoreUnavailable
  | ScheduleNotFound
  | ScheduleInvalid
  | ScheduleConflict

export type HttpErrorTag = HttpError["_tag"]

/** The REST error body: the typed error's body in `detail`, plus the Retry-After seconds when waiting helps. */
export interface ErrorEnvelope {
  readonly detail: ErrorBody & { readonly retry_after?: number }
}

export interface ErrorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: ErrorEnvelope
}

/**
 * Status codes: the caller's fault is 4xx (400 fix the input, 401 send a key,
 * 403 the key, policy or engagement forbids it, 404 no such tool, scan, route
 * or approval, 409 the tool is switched off by an operator or the approval was
 * decided already (or the schedule exists or is the configuration's), 413/415 fix the body, 428 the call waits for a second
 * person's approval, 429 slow down), the
 * server's state is 5xx with Retry-After when waiting helps (503 breaker open,
 * all slots busy or too many connections, 503 the binary is missing or the
 * scan store cannot be read, 500 the
 * process could not be started or a bug). The OpenAPI document takes every
 * status from here.
 */
export const errorStatus = (tag: HttpErrorTag): number => {
  switch (tag) {
    case "InvalidInput":
    case "TargetRejected":
    case "ArgumentRejected":
    case "ScheduleInvalid":
      return 400
    case "Unauthorized":
      return 401
    case "IntrusiveNotAllowed":
    case "Forbidden":
    case "EngagementRejected":
    case "ApprovalRefused":
      return 403
    case "ToolNotFound":
    case "ScanNotFound":
    case "NotFound":
    case "ApprovalNotFound":
    case "ScheduleNotFound":
      return 404
    case "ToolDisabled":
    case "ApprovalConflict":
    case "ScheduleConflict":
      return 409
    case "PayloadTooLarge":
      return 413
    case "UnsupportedMediaType":
      return 415
    // Not 2xx, which a client would read as the result, nor 403, which says not to retry: the same call succeeds once its
    // precondition, the approval, is met (RFC 6585: the server requires the request to be conditional).
    case "ApprovalRequired":
      return 428
    case "RateLimited":
      return 429
    case "SpawnFailed":
    case "InternalError":
      return 500
    case "ToolUnavailable":
    case "ResourceLimitsUnavailable":
    case "AuditUnavailable":
    case "ApprovalsUnavailable":
    case "CircuitOpen":
    case "ToolBusy":
    case "TooManyConnections":
    case "StoreUnavailable":
      return 503
  }
}

/** Seconds a client should wait before retrying, when the error says. A busy tool or server frees a slot within seconds. */
export const retryAfterSeconds = (error: HttpError): number | undefined => {
  switch (error._tag) {
    case "CircuitOpen":
    case "RateLimited":
      return Math.max(1, Math.ceil(error.retryAfterSeconds))
    case "ToolBusy":
    case "TooManyConnections":
      return 1
    default:
      return undefined
  }
}

export const errorEnvelope = (error: HttpError): ErrorEnvelope => {
  const retryAfter = retryAfterSeconds(error)
  return { detail: { ...errorBody(error), ...(retryAfter === undefined ? {} : { retry_after: retryAfter }) } }
}

/** A body the server stopped reading, or a connection over the limit, is answered and then the connection is closed. */
const closesConnection = (tag: HttpErrorTag) => tag === "PayloadTooLarge" || tag === "TooManyConnections"

export const errorResponse = (error: HttpError): ErrorResponse => {
  const body = errorEnvelope(error)
  const headers: Record<string, string> = {}
  if (body.detail.retry_after !== undefined) headers["retry-after"] = String(body.detail.retry_after)
  if (error._tag === "Unauthorized") headers["www-authenticate"] = "Bearer"
  if (closesConnection(error._tag)) headers["connection"] = "close"
  return { status: errorStatus(error._tag), headers, body }
}
