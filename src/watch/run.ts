import { Either } from "effect"
import type { AppConfig } from "../config/schema.js"
import type { ScheduleSpec } from "../config/watch.js"
import type { ExecutionError } from "../errors.js"
import { callTimeout, planArguments } from "../execution/plan.js"
import type { ToolInput } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { needsApproval } from "../policy/approval.js"
import type { Engagement } from "../policy/Engagement.js"
import { selectEngagement } from "../policy/engagementSelection.js"
import type { RunStatus } from "../storage/ScheduleRecord.js"
import type { ToolSpec } from "../tools/ToolSpec.js"

/**
 * One scheduled run as data: the call it makes, whether it needs its
 * schedule's standing approval, and how its outcome reads. The run itself goes
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

/** A run its engagement wants a second person to approve: the engagement, what makes it need one, and what it runs. */
export interface ApprovalNeed {
  readonly engagement: Engagement
  readonly intrusive: boolean
  readonly intrusiveReasons: ReadonlyArray<string>
  /** The arguments as planned today, then the target: what the approver is shown. */
  readonly argv: ReadonlyArray<string>
  /** The binary and fixed arguments of the tool as configured, then the planned arguments: what the digest binds. */
  readonly command: ReadonlyArray<string>
  /** The seconds each run may take under today's configuration. */
  readonly timeoutSeconds: number
}

/**
 * Whether the run needs its schedule's standing approval, or undefined. A
 * call the policy refuses for another reason is left to the executor, which
 * refuses and audits it.
 */
export const approvalNeed = (
  spec: ScheduleSpec,
  tool: ToolSpec<any> | undefined,
  caller: Caller,
  config: AppConfig
): ApprovalNeed | undefined => {
  if (tool === undefined) return undefined
  const engagement = selectEngagement(config.engagements, caller.engagements, caller.id, spec.engagement ?? undefined)
  if (Either.isLeft(engagement) || engagement.right === undefined) return undefined
  const args = planArguments(tool, inputOf(spec, "", ""), config, caller)
  if (Either.isLeft(args)) return undefined
  const intrusive = tool.intrusive || args.right.intrusive
  if (!needsApproval(engagement.right, intrusive)) return undefined
  return {
    engagement: engagement.right,
    intrusive,
    intrusiveReasons: tool.intrusive ? [`${tool.name} is intrusive`, ...args.right.intrusiveReasons] : args.right.intrusiveReasons,
    argv: [...args.right.tokens, spec.target],
    command: [tool.binary, ...tool.fixedArgs, ...args.right.tokens],
    timeoutSeconds: callTimeout(tool, spec.max_runtime ?? undefined, config).seconds
  }
}

export interface Outcome {
  readonly status: Exclude<RunStatus, "running">
  readonly scanId: string | null
  readonly reason: string | null
}

/** A refused or failed call as a run's outcome: an approval it needs or lacks is a skip, anything else a failure. */
export const failedOutcome = (error: ExecutionError): Outcome => ({
  status: error._tag === "ApprovalRequired" || error._tag === "ApprovalRefused" ? "skipped" : "failed",
  scanId: null,
  reason: `${error._tag}: ${error.message}`
})
