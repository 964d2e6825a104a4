import { Schema } from "effect"
import { Refusal } from "../errors.js"

/** Failures only the HTTP transport can have: they never reach the executor. */

export class PayloadTooLarge extends Refusal<PayloadTooLarge>()("PayloadTooLarge", {
  limitBytes: Schema.Number,
  message: Schema.String
}) {}

export class UnsupportedMediaType extends Refusal<UnsupportedMediaType>()("UnsupportedMediaType", {
  contentType: Schema.String,
  message: Schema.String
}) {}

/** The connection arrived while `server.max_connections` others were open: answered instead of reset, then closed. */
export class TooManyConnections extends Refusal<TooManyConnections>()("TooManyConnections", {
  limit: Schema.Number,
  message: Schema.String
}) {}

/** No route matches the method and path. */
export class NotFound extends Refusal<NotFound>()("NotFound", {
  message: Schema.String
}) {}

/** A bug: the details go to the log, never to the client. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: Schema.String
}) {}
