import type { AppConfig } from "../config/schema.js"
import type { RunResult } from "../runner/ProcessRunner.js"
import { fenceLines } from "../tools/summary/fence.js"
import type { ParsedOutput, ToolSpec } from "../tools/ToolSpec.js"
import type { Call } from "./call.js"
import type { Plan } from "./plan.js"
import type { Ending } from "./record.js"
import { scanUri } from "./scan.js"
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

/** The REST body of a process that ran; MCP summarises the same value. */
export const executionResult = (
  call: Call,
  plan: Plan,
  run: RunResult,
  verdict: Verdict,
  parsed: ParsedOutput<unknown> | undefined,
  durationSeconds: number,
  config: AppConfig,
  scanId: string | null
): ExecutionResult => {
  const error = verdict.error?.message ?? null
  const notes = [
    ...plan.notes,
    ...(run.notes ?? []),
    ...(run.truncatedStdout
      ? [
        `stdout truncated at ${config.security.max_output_size} bytes${
          scanId === null ? "" : `; the stored scan keeps it whole (${scanUri(scanId)}/raw)`
        }`
      ]
      : []),
    ...(run.truncatedStderr ? [`stderr truncated at ${config.security.max_stderr_size} bytes`] : [])
  ]
  // Output no parser read is the host's (or the tool's) text, not ours: fenced like every summary's.
  const summary = parsed?.summary ??
    (error === null ? fenceLines(run.stdout.slice(0, 4000)) : `${error}\n${fenceLines(run.stderr.slice(0, 2000))}`)
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
    summary: notes.length > 0 ? `${summary}\nNotes: ${notes.join("; ")}` : summary,
    scan_id: scanId
  }
}
