import { Effect, Either, Option } from "effect"
import { tokenize } from "../policy/tokenize.js"
import type { ScanOutcome } from "../storage/ScanRecord.js"
import type { FinishInput, ScanRecorderService } from "../storage/ScanRecorder.js"
import type { ParsedOutput } from "../tools/ToolSpec.js"
import { type Call, elapsedSeconds } from "./call.js"
import { parseStatus, type RunOutput } from "./output.js"
import type { Plan } from "./plan.js"
import type { Ending } from "./record.js"
import type { ExecutionResult, ToolInput } from "./ToolExecutor.js"

/**
 * The executor's side of the scan store: every call that passed policy
 * begins a stored scan (its id becomes the execution id, so audit lines and
 * the stored scan share it) and finishes it however it ended. The recorder
 * only queues, so none of this waits on the database.
 */

/** The resource naming a stored scan, which summaries and tool results point to. */
export const scanUri = (scanId: string): string => `scan://${scanId}`

/** The caller's arguments as sent (the policy accepted them all, or the call would not be here). */
const callerArgs = (input: ToolInput): ReadonlyArray<string> =>
  input.args ?? (input.extra_args === undefined ? [] : Either.getOrElse(tokenize(input.extra_args), () => [input.extra_args!]))

/** Begins the call's scan; the call then carries the scan id as its execution id. None when storage is disabled. */
export const beginScan = (scans: ScanRecorderService, call: Call, plan: Plan, input: ToolInput, scanId?: string) =>
  Effect.map(
    scans.begin({
      tool: call.tool,
      caller_id: call.caller.id,
      correlation_id: call.correlationId,
      target: plan.target.original,
      resolved_target: plan.target.pinned,
      argv: [plan.request.command, ...plan.request.args],
      args: callerArgs(input),
      template: input.template ?? null,
      intrusive: plan.intrusive,
      notes: plan.notes,
      engagement: plan.engagement
    }, scanId),
    Option.match({ onNone: () => ({ call, scanId: null }), onSome: (id) => ({ call: { ...call, executionId: id }, scanId: id }) })
  )

const outcomeOf = (ending: Ending): Exclude<ScanOutcome, "running"> => {
  switch (ending.outcome) {
    case "success":
      return "succeeded"
    case "timeout":
      return "timed_out"
    case "cancelled":
      return "cancelled"
    default:
      return "failed"
  }
}

/** A process that ran: the result the caller got, with the whole raw output the store keeps. */
export const finishedScan = (result: ExecutionResult, ending: Ending, output: RunOutput, parseStatus_: FinishInput["parse_status"]) => {
  const raw = output.raw()
  const whole = raw.stdout.length >= result.stdout.length
  return {
    outcome: outcomeOf(ending),
    execution_time: result.execution_time,
    returncode: result.returncode,
    signal: result.signal,
    timed_out: result.timed_out,
    error: result.error,
    error_type: result.error_type,
    truncated_stdout: whole ? raw.truncated : result.truncated_stdout,
    truncated_stderr: result.truncated_stderr,
    parse_status: parseStatus_,
    structured: result.structured,
    summary: result.summary,
    stdout: whole ? raw.stdout : result.stdout,
    stderr: result.stderr,
    notes: result.metadata.notes,
    argv: result.metadata.argv
  } satisfies FinishInput
}

/**
 * A call that ended without a process result: turned away by its breaker or
 * queue, a failed spawn, cancelled (with what it read), or failed closed on
 * the audit (no `output`: nothing of it may be read back).
 */
export const unfinishedScan = (
  call: Call,
  plan: Plan,
  ending: Ending,
  output: RunOutput | undefined,
  parsed: ParsedOutput<unknown> | undefined
): Effect.Effect<FinishInput> =>
  Effect.map(elapsedSeconds(call), (seconds) => {
    const raw = output?.raw() ?? { stdout: "", stderr: "", truncated: false }
    return {
      outcome: outcomeOf(ending),
      execution_time: Math.round(seconds * 1000) / 1000,
      returncode: null,
      signal: null,
      timed_out: false,
      error: ending.error?.message ?? (ending.outcome === "cancelled" ? CANCELLED : null),
      error_type: ending.errorType,
      truncated_stdout: raw.truncated,
      truncated_stderr: false,
      parse_status: parsed === undefined && raw.stdout === "" ? "none" : parseStatus(plan.tool.spec, parsed, true),
      structured: parsed?.data ?? null,
      summary: parsed?.summary ?? (ending.error?.message ?? CANCELLED),
      stdout: raw.stdout,
      stderr: raw.stderr,
      notes: plan.notes,
      argv: ending.argv
    } satisfies FinishInput
  })

export const CANCELLED = "the call was cancelled (by the client, a disconnect or the server shutting down) before the tool finished"
