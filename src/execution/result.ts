import { Effect, Option } from "effect"
import type { AppConfig } from "../config/schema.js"
import type { RunResult } from "../runner/ProcessRunner.js"
import type { ParsedOutput, ToolSpec } from "../tools/ToolSpec.js"
import type { Call } from "./call.js"
import type { Plan } from "./plan.js"
import type { Ending } from "./record.js"
import type { ExecutionResult } from "./ToolExecutor.js"

/** What a finished process means for the caller, the breaker and the metrics. */
export interface Verdict extends Ending {
  readonly errorType: ExecutionResult["error_type"]
}

export const judge = (spec: ToolSpec<any>, run: RunResult): Verdict => {
  const failed = (errorType: "timeout" | "signal" | "exit_code", message: string, outcome: "failure" | "timeout" = "failure") => ({
    outcome,
    errorType,
    error: { tag: errorType, message },
    argv: run.argv
  })
  if (run.timedOut) return failed("timeout", "execution timed out; the process group was killed", "timeout")
  if (run.signal !== null) return failed("signal", `killed by ${run.signal}`)
  if (run.exitCode === 0 || (run.exitCode !== null && spec.okExitCodes.includes(run.exitCode))) {
    return { outcome: "success", errorType: null, error: null, argv: run.argv }
  }
  return failed("exit_code", `exited with code ${run.exitCode}`)
}

/** The tool's parser over the output, when it has one; a parser that throws costs the structured result, never the call. */
export const parseOutput = (spec: ToolSpec<any>, run: RunResult): Effect.Effect<ParsedOutput<unknown> | undefined> => {
  const parse = spec.parse
  if (parse === undefined || run.stdout.length === 0) return Effect.succeed(undefined)
  return Effect.try(() => parse(run.stdout, run.stderr)).pipe(
    Effect.tapError((e) => Effect.logWarning(`parser of ${spec.name} failed`, e)),
    Effect.option,
    Effect.map(Option.getOrUndefined)
  )
}

/** The REST body of a process that ran; MCP summarises the same value. */
export const executionResult = (
  call: Call,
  plan: Plan,
  run: RunResult,
  verdict: Verdict,
  parsed: ParsedOutput<unknown> | undefined,
  durationSeconds: number,
  config: AppConfig
): ExecutionResult => {
  const error = verdict.error?.message ?? null
  const notes = [
    ...plan.notes,
    ...(run.notes ?? []),
    ...(run.truncatedStdout ? [`stdout truncated at ${config.security.max_output_size} bytes`] : []),
    ...(run.truncatedStderr ? [`stderr truncated at ${config.security.max_stderr_size} bytes`] : [])
  ]
  const summary = parsed?.summary ?? (error === null ? run.stdout.slice(0, 4000) : `${error}\n${run.stderr.slice(0, 2000)}`)
  return {
    tool: call.tool,
    stdout: run.stdout,
    stderr: run.stderr,
    returncode: run.exitCode,
    signal: run.signal,
    truncated_stdout: run.truncatedStdout,
    truncated_stderr: run.truncatedStderr,
    timed_out: run.timedOut,
    error,
    error_type: verdict.errorType,
    execution_time: Math.round(durationSeconds * 1000) / 1000,
    correlation_id: call.correlationId,
    metadata: {
      target: plan.target.original,
      resolved_target: plan.target.pinned,
      argv: run.argv,
      intrusive: plan.intrusive,
      notes,
      engagement: plan.engagement?.name ?? null,
      engagement_hash: plan.engagement?.hash ?? null,
      approval_id: plan.approval?.id ?? null,
      approved_by: plan.approval?.decidedBy ?? null
    },
    structured: parsed?.data ?? null,
    summary: notes.length > 0 ? `${summary}\nNotes: ${notes.join("; ")}` : summary
  }
}
