import { Schema } from "effect"
import { Approval, ApprovalStatus } from "./Approval.js"
import { JsonValue } from "./JsonValue.js"

/**
 * The typed failures of the server. Each `_tag` is part of the public API:
 * MCP tool results carry it in their structured error body and the HTTP API
 * maps it to a status code (see `src/http/errorStatus.ts`).
 */

/** Where `Data.Error` keeps the arguments an error was made with (its `toJSON` reads them). */
const plainArgs = Symbol.for("effect/Data/Error/plainArgs")

/**
 * A `Schema.TaggedError` for an expected refusal: the answer to a bad or
 * unlucky call (a target outside the policy, a full queue, a missing key),
 * made on every such call, a flood included. It has the same `_tag`, fields,
 * schema and wire body as any tagged error, but no stack trace (capturing one
 * is the most expensive part of making an error, and a refusal's stack says
 * nothing its `_tag` and message do not) and no second validation of fields
 * the compiler has checked. Bugs and failures of the machine (`SpawnFailed`,
 * `AuditUnavailable`, `ConfigInvalid` …) stay plain tagged errors, with their stacks.
 *
 * Made without options (every refusal the server makes), it skips the
 * constructor chain of Schema's class, `Data.Error` and `YieldableError` and
 * builds what they build, in their order: a native error of this class (its
 * `stack` and `message`), the fields as given, `_tag` last, and the arguments
 * `Data.Error` keeps (test/errors.test.ts holds both ways equal).
 */
export const Refusal = <Self>() => <Tag extends string, Fields extends Schema.Struct.Fields>(tag: Tag, fields: Fields) => {
  const Base = Schema.TaggedError<Self>()(tag, fields)
  // Typed as the base: the constructor takes what it takes, with validation off unless asked for.
  return class extends (Base as new(props: any, options?: Schema.MakeOptions) => object) {
    constructor(props: any, options?: Schema.MakeOptions) {
      const limit = Error.stackTraceLimit
      Error.stackTraceLimit = 0
      try {
        if (options !== undefined) {
          super(props, options)
          return
        }
        // Copied key by key: a spread and `delete` would leave the arguments a slow dictionary object.
        const args: Record<string, unknown> = {}
        for (const key of Object.keys(props)) if (key !== "_tag") args[key] = props[key]
        args._tag = tag
        const self = Reflect.construct(Error, args.cause ? [args.message, { cause: args.cause }] : [args.message], new.target)
        Object.assign(self, args)
        Object.defineProperty(self, plainArgs, { value: args, enumerable: false })
        return self
      } finally {
        Error.stackTraceLimit = limit
      }
    }
  } as unknown as typeof Base
}

export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  source: Schema.String,
  message: Schema.String,
  issues: Schema.Array(Schema.String)
}) {}

export class TargetRejected extends Refusal<TargetRejected>()("TargetRejected", {
  target: Schema.String,
  rule: Schema.String,
  message: Schema.String
}) {}

export class ArgumentRejected extends Refusal<ArgumentRejected>()("ArgumentRejected", {
  token: Schema.String,
  rule: Schema.String,
  message: Schema.String
}) {}

export class IntrusiveNotAllowed extends Refusal<IntrusiveNotAllowed>()("IntrusiveNotAllowed", {
  token: Schema.String,
  message: Schema.String
}) {}

export class InvalidInput extends Refusal<InvalidInput>()("InvalidInput", {
  message: Schema.String,
  issues: Schema.Array(Schema.String)
}) {}

export class ToolNotFound extends Refusal<ToolNotFound>()("ToolNotFound", {
  tool: Schema.String,
  message: Schema.String
}) {}

export class ToolDisabled extends Refusal<ToolDisabled>()("ToolDisabled", {
  tool: Schema.String,
  message: Schema.String
}) {}

export class ToolUnavailable extends Refusal<ToolUnavailable>()("ToolUnavailable", {
  tool: Schema.String,
  message: Schema.String
}) {}

export class CircuitOpen extends Refusal<CircuitOpen>()("CircuitOpen", {
  tool: Schema.String,
  retryAfterSeconds: Schema.Number,
  message: Schema.String
}) {}

export class RateLimited extends Refusal<RateLimited>()("RateLimited", {
  scope: Schema.String,
  retryAfterSeconds: Schema.Number,
  message: Schema.String
}) {}

export class ToolBusy extends Refusal<ToolBusy>()("ToolBusy", {
  tool: Schema.String,
  message: Schema.String
}) {}

export class SpawnFailed extends Schema.TaggedError<SpawnFailed>()("SpawnFailed", {
  command: Schema.String,
  message: Schema.String
}) {}

/**
 * The host lacks a protection the runner must apply to every tool process
 * (kernel resource limits, parent-death signal) and `security.resource_limits`
 * is `enforce`. Not a failure of the tool: it does not count towards its circuit.
 */
export class ResourceLimitsUnavailable extends Schema.TaggedError<ResourceLimitsUnavailable>()("ResourceLimitsUnavailable", {
  missing: Schema.Array(Schema.String),
  message: Schema.String
}) {}

export class Unauthorized extends Refusal<Unauthorized>()("Unauthorized", {
  message: Schema.String
}) {}

export class Forbidden extends Refusal<Forbidden>()("Forbidden", {
  message: Schema.String
}) {}

/** The audit log could not take a line that must be written before the operation goes on (fail closed). */
export class AuditUnavailable extends Schema.TaggedError<AuditUnavailable>()("AuditUnavailable", {
  path: Schema.String,
  message: Schema.String
}) {}

/** The engagement refuses the call: it may not act in it, or not now, or not with this tier of tool. */
export class EngagementRejected extends Refusal<EngagementRejected>()("EngagementRejected", {
  engagement: Schema.String,
  rule: Schema.String,
  message: Schema.String
}) {}

/**
 * The call is valid but does not run until a second person approves it: it
 * is now the pending approval `approval_id`, showing what the approver sees.
 */
export class ApprovalRequired extends Refusal<ApprovalRequired>()("ApprovalRequired", {
  approval_id: Schema.String,
  status: ApprovalStatus,
  expires_at: Schema.String,
  approval: Approval,
  message: Schema.String
}) {}

/** The call named an approval that does not cover it (denied, expired, used, another call, another key's). */
export class ApprovalRefused extends Refusal<ApprovalRefused>()("ApprovalRefused", {
  approval_id: Schema.String,
  rule: Schema.String,
  message: Schema.String
}) {}

/** No approval with this id that the caller may see. */
export class ApprovalNotFound extends Refusal<ApprovalNotFound>()("ApprovalNotFound", {
  approval_id: Schema.String,
  message: Schema.String
}) {}

/** The approval can no longer be decided: another approver decided it first, or it expired. */
export class ApprovalConflict extends Refusal<ApprovalConflict>()("ApprovalConflict", {
  approval_id: Schema.String,
  status: ApprovalStatus,
  message: Schema.String
}) {}

/** The call needs an approval, and approvals cannot be stored now (storage disabled or not open). */
export class ApprovalsUnavailable extends Refusal<ApprovalsUnavailable>()("ApprovalsUnavailable", {
  message: Schema.String
}) {}

/** Every failure a tool execution can end with, before or instead of a process result. */
export type ExecutionError =
  | TargetRejected
  | ArgumentRejected
  | IntrusiveNotAllowed
  | InvalidInput
  | ToolNotFound
  | ToolDisabled
  | ToolUnavailable
  | CircuitOpen
  | RateLimited
  | ToolBusy
  | SpawnFailed
  | ResourceLimitsUnavailable
  | AuditUnavailable
  | Forbidden
  | EngagementRejected
  | ApprovalRequired
  | ApprovalRefused
  | ApprovalsUnavailable

/** A typed error as callers see it: its tag, message and fields (token, rule, retryAfterSeconds …). */
export const ErrorBody = Schema.Struct(
  {
    _tag: Schema.String.annotations({ description: "Error class, e.g. TargetRejected, ArgumentRejected, RateLimited" }),
    message: Schema.String,
    token: Schema.optionalWith(Schema.String.annotations({ description: "The rejected argument token" }), { exact: true }),
    rule: Schema.optionalWith(Schema.String.annotations({ description: "The policy rule that rejected the call" }), { exact: true })
  },
  Schema.Record({ key: Schema.String, value: JsonValue })
)
export type ErrorBody = typeof ErrorBody.Type

/** A typed error's tag, message and fields (token, rule, retryAfterSeconds …); never the stack or cause. */
export const errorBody = (error: { readonly _tag: string; readonly message: string }): ErrorBody => {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) {
    if (key !== "stack" && key !== "cause" && key !== "_tag" && key !== "message") fields[key] = value
  }
  return { _tag: error._tag, message: error.message, ...fields }
}
