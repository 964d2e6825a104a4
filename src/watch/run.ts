import { Either } from "effect"
import type { AppConfig } from "../config/schema.js"
import type { ScheduleSpec } from "../config/watch.js"
import type { ExecutionError } from "../errors.js"
import { planArguments } from "../execution/plan.js"
import type { ToolInput } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { needsApproval } from "../policy/approval.js"
import { selectEngagement } from "../policy/engagementSelection.js"
import type { RunStatus } from "../storage/ScheduleRecord.js"
import type { ToolSpec } from "../tools/ToolSpec.js"

/**
 * One scheduled run as data: the call it makes, whether it may make it
 * without a person present, and how its outcome reads. The run itself goes
 * through the same executor as every call (policy, limits, audit), as the
 * schedule's owner; the audit lines carry the schedule in their correlation id.
 */

/** `schedule.<schedule id>.<run id>`: the correlation id of the run's call, in its result, logs and audit line. */
export const correlationIdOf = (scheduleId: string, runId: string): string => `schedule.${scheduleId}.${runId}`

export const inputOf = (spec: ScheduleSpec, scheduleId: string, runId: string): ToolInput => ({
  target: spec.target,
  args: spec.args,
  ...(spec.template === null ? {} : { template: spec.template }),
  ...(spec.engagement === null ? {} : { engagement: spec.engagement }),
  ...(spec.max_runtime === null ? {} : { timeout_sec: spec.max_runtime }),
  correlation_id: correlationIdOf(scheduleId, runId)
})

/**
 * Why the run must not be made unattended, or undefined. A call its
 * engagement wants a second person to approve is skipped: an approval is
 * bound to one call and is used up by it, and a schedule has no standing
 * approval that would cover every future run, so the scheduler never asks
 * for one (an approver would be asked again at every run) and never runs it.
 * A call the policy refuses for another reason is left to the executor,
 * which refuses and audits it.
 */
export const approvalBlock = (
  spec: ScheduleSpec,
  tool: ToolSpec<any> | undefined,
  caller: Caller,
  config: AppConfig
): string | undefined => {
  if (tool === undefined) return undefined
  const engagement = selectEngagement(config.engagements, caller.engagements, caller.id, spec.engagement ?? undefined)
  if (Either.isLeft(engagement) || engagement.right === undefined) return undefined
  const args = planArguments(tool, inputOf(spec, "", ""), config, caller)
  if (Either.isLeft(args)) return undefined
  const intrusive = tool.intrusive || args.right.intrusive
  if (!needsApproval(engagement.right, intrusive)) return undefined
  const what = intrusive ? `this intrusive call (${[...args.right.intrusiveReasons].join(", ") || tool.name})` : "every call"
  return `skipped: engagement ${engagement.right.name} requires a second person's approval for ${what}, and a scheduled run has no standing approval; run it by hand with an approval, or schedule a call that needs none`
}

export interface Outcome {
  readonly status: Exclude<RunStatus, "running">
  readonly scanId: string | null
  readonly reason: string | null
}

/** A refused or failed call as a run's outcome: an approval it needs is a skip, anything else a failure. */
export const failedOutcome = (error: ExecutionError): Outcome => ({
  status: error._tag === "ApprovalRequired" ? "skipped" : "failed",
  scanId: null,
  reason: `${error._tag}: ${error.message}`
})
