import type { ExecutionError, InvalidInput, Unauthorized } from "../errors.js"
import { type ErrorBody, errorBody } from "../errors.js"
import type { PayloadTooLarge, UnsupportedMediaType } from "./errors.js"

export type HttpError = ExecutionError | InvalidInput | Unauthorized | PayloadTooLarge | UnsupportedMediaType

export interface ErrorResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly body: { readonly detail: ErrorBody & { readonly retry_after?: number } }
}

/**
 * Status codes: the caller's fault is 4xx (400 fix the input, 401 send a key,
 * 403 the key or policy forbids it, 404 no such tool, 409 the tool is switched
 * off by an operator, 429 slow down), the server's state is 5xx with
 * Retry-After when waiting helps (503 breaker open or all slots busy, 503 the
 * binary is missing, 500 the process could not be started).
 */
export const errorStatus = (error: HttpError): number => {
  switch (error._tag) {
    case "InvalidInput":
    case "TargetRejected":
    case "ArgumentRejected":
      return 400
    case "Unauthorized":
      return 401
    case "IntrusiveNotAllowed":
    case "Forbidden":
      return 403
    case "ToolNotFound":
      return 404
    case "ToolDisabled":
      return 409
    case "PayloadTooLarge":
      return 413
    case "UnsupportedMediaType":
      return 415
    case "RateLimited":
      return 429
    case "SpawnFailed":
      return 500
    case "ToolUnavailable":
    case "ResourceLimitsUnavailable":
    case "AuditUnavailable":
    case "CircuitOpen":
    case "ToolBusy":
      return 503
  }
}

/** Seconds a client should wait before retrying, when the error says. A busy tool frees a slot within seconds. */
export const retryAfterSeconds = (error: HttpError): number | undefined => {
  switch (error._tag) {
    case "CircuitOpen":
    case "RateLimited":
      return Math.max(1, Math.ceil(error.retryAfterSeconds))
    case "ToolBusy":
      return 1
    default:
      return undefined
  }
}

export const errorResponse = (error: HttpError): ErrorResponse => {
  const retryAfter = retryAfterSeconds(error)
  const headers: Record<string, string> = {}
  if (retryAfter !== undefined) headers["retry-after"] = String(retryAfter)
  if (error._tag === "Unauthorized") headers["www-authenticate"] = "Bearer"
  if (error._tag === "PayloadTooLarge") headers["connection"] = "close"
  return {
    status: errorStatus(error),
    headers,
    body: { detail: { ...errorBody(error), ...(retryAfter === undefined ? {} : { retry_after: retryAfter }) } }
  }
}
