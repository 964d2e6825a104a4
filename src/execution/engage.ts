import { Clock, Effect, Either } from "effect"
import type { AppConfig } from "../config/schema.js"
import type { EngagementRejected, InvalidInput } from "../errors.js"
import type { AuditApproval } from "../observability/AuditLog.js"
import { approvalDigest, needsApproval } from "../policy/approval.js"
import type { ValidatedArgs } from "../policy/args.js"
import { type Engagement, engagementRef } from "../policy/Engagement.js"
import { selectEngagement } from "../policy/engagementSelection.js"
import { checkWhen } from "../policy/engagementWindows.js"
import { applyRateCeiling } from "../policy/rateCeiling.js"
import { checkTier } from "../policy/tiers.js"
import { RateLimiter } from "../resilience/RateLimiter.js"
import type { RunRequest } from "../runner/ProcessRunner.js"
import { Approvals } from "../storage/Approvals.js"
import type { Call, Received } from "./call.js"
import type { ToolInput } from "./ToolExecutor.js"

/**
 * The engagement steps of planning: which engagement a call acts in, its
 * dates and windows, its call rate, the tier of the call and its packet-rate
 * ceiling, and whether a second person must approve it first. Each only ever
 * refuses or lowers: the server's own checks run as before.
 */

/** A received call with its engagement chosen; when none can be, the input is replaced by the reason, so planning refuses it. */
export interface Engaged {
  readonly call: Call
  readonly input: Either.Either<ToolInput, InvalidInput | EngagementRejected>
}

export const engage = (received: Received, config: AppConfig): Engaged => {
  const { call, input } = received
  if (Either.isLeft(input)) return received
  const chosen = selectEngagement(config.engagements, call.caller.engagements, call.caller.id, input.right.engagement)
  if (Either.isLeft(chosen)) return { call, input: Either.left(chosen.left) }
  return chosen.right === undefined ? received : { call: { ...call, engagement: engagementRef(chosen.right) }, input }
}

/** The engagement the call acts in, as configured when it arrived. */
export const engagementOf = (call: Call, config: AppConfig): Engagement | undefined =>
  call.engagement === undefined ? undefined : config.engagements.find((e) => e.name === call.engagement!.name)

/** Refuses a call outside the engagement's dates and windows, judged at the clock's time. */
export const checkEngagementTime = (engagement: Engagement | undefined) =>
  engagement === undefined ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) => checkWhen(engagement, now))

/**
 * The engagement's own call rate, shared by everyone in it. It applies even
 * with the server's rate limits off: it is part of the written scope.
 */
export const throttleEngagement = (engagement: Engagement | undefined, config: AppConfig) => {
  const perMinute = engagement?.max_rate?.calls_per_minute
  if (engagement === undefined || perMinute === undefined) return Effect.void
  const burst = Math.max(1, Math.min(config.rate_limit.burst, Math.floor(perMinute)))
  return Effect.flatMap(RateLimiter, (rates) => rates.take(`engagement:${engagement.name}`, perMinute, burst))
}

/** The call's tier checked against the engagement's, then its packet rate capped at the engagement's ceiling. */
export const withinTier = (
  engagement: Engagement | undefined,
  tool: string,
  args: ValidatedArgs
): Either.Either<{ readonly args: ValidatedArgs; readonly notes: ReadonlyArray<string> }, EngagementRejected> => {
  if (engagement === undefined) return Either.right({ args, notes: [] })
  return Either.map(checkTier(engagement, tool, args.intrusive), () => {
    const ceiled = applyRateCeiling(tool, args.tokens, engagement.max_rate?.packets_per_second, engagement.name)
    return { args: { ...args, tokens: ceiled.tokens }, notes: ceiled.notes }
  })
}

/** What the approval step reads of a plan (plan.ts's `Plan`). */
export interface Gated {
  readonly tool: { readonly spec: { readonly name: string } }
  readonly target: { readonly pinned: string }
  readonly auditTarget: string
  readonly request: Pick<RunRequest, "command" | "args">
  readonly intrusive: boolean
  readonly intrusiveReasons: ReadonlyArray<string>
  readonly notes: ReadonlyArray<string>
  readonly approval: AuditApproval | null
}

/**
 * The last step of planning, once the exact argv is known. A call that needs
 * approval and names none becomes a pending approval and is refused with
 * `ApprovalRequired`; one that names its approval runs only if the approval
 * covers exactly this call, and uses it up. An approval_id on a call that
 * needs none is ignored, with a note.
 */
export const approvalGate = <P extends Gated>(call: Call, plan: P, engagement: Engagement | undefined, input: ToolInput) =>
  Effect.gen(function*() {
    if (engagement === undefined || !needsApproval(engagement, plan.intrusive)) {
      return input.approval_id === undefined
        ? plan
        : { ...plan, notes: [...plan.notes, `approval_id ${input.approval_id} ignored: this call needs no approval`] } as P
    }
    const approvals = yield* Approvals
    const subject = {
      tool: plan.tool.spec.name,
      resolvedTarget: plan.target.pinned,
      argv: [plan.request.command, ...plan.request.args],
      engagement: engagementRef(engagement),
      requestedBy: call.caller.id
    }
    if (input.approval_id !== undefined) {
      const used = yield* approvals.use(input.approval_id, approvalDigest(subject), call.caller)
      return { ...plan, approval: { id: used.approval_id, requestedBy: used.requested_by, decidedBy: used.decided_by } } as P
    }
    return yield* Effect.flatMap(
      approvals.request({
        subject,
        requester: call.caller,
        target: plan.auditTarget,
        intrusive: plan.intrusive,
        intrusiveReasons: plan.intrusiveReasons,
        correlationId: call.correlationId
      }),
      Effect.fail
    )
  })
