import { Context, type Effect, Schema } from "effect"
import { BreakerState } from "../BreakerState.js"
import type { ApprovalsUnavailable, ExecutionError, ToolNotFound } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import { JsonObject, jsonValue } from "../JsonValue.js"
import { ScanId } from "../storage/ScanRecord.js"

/** An optional field that may also be sent as `null` (strict function-calling clients send every field, null when unused). */
const optional = <S extends Schema.Schema.Any>(schema: S) => Schema.optionalWith(schema, { exact: true, nullable: true })

/** What a caller sends to run a tool (REST body and MCP `arguments`). */
export const ToolInput = Schema.Struct({
  target: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(253)).annotations({
    description: "One host, IPv4 address or CIDR inside the allowed ranges (e.g. 10.0.0.5, 192.168.1.0/28, web.lab.internal)"
  }),
  args: optional(Schema.Array(Schema.String.pipe(Schema.maxLength(512))).pipe(Schema.maxItems(128))).annotations({
    description: "Arguments as separate tokens, e.g. [\"-sV\", \"-p\", \"22,80\"]. Only the tool's listed flags are accepted."
  }),
  extra_args: optional(Schema.String.pipe(Schema.maxLength(4096))).annotations({
    description: "Arguments as one string, split on whitespace (no shell, no quoting). Use args or extra_args, not both."
  }),
  template: optional(Schema.String).annotations({ description: "Named preset of arguments (see the tool description)" }),
  timeout_sec: optional(Schema.Number.pipe(Schema.positive())).annotations({
    description: "Timeout in seconds, capped by the server"
  }),
  correlation_id: optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._:-]{1,128}$/))).annotations({
    description: "Caller's id for this call, echoed in the result, logs and audit"
  }),
  engagement: optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/))).annotations({
    description: "The engagement the call acts in; default: the key's only one"
  }),
  approval_id: optional(Schema.String.pipe(Schema.pattern(/^[0-9A-Za-z]{1,64}$/))).annotations({
    description: "The approval this call runs under, once approved: the approval_id of its ApprovalRequired answer"
  })
})
export type ToolInput = typeof ToolInput.Type

/** What a running scan has found so far, as far as the tool's output has been parsed. */
export interface Found {
  readonly hostsUp?: number
  readonly openPorts?: number
}

/**
 * One progress report of a running call: `progress` of `total` only ever
 * grows (MCP requires it), `message` says in words where the tool is (task,
 * percentage, ETA, what was found), and the fields say it as data.
 */
export interface Progress {
  readonly progress: number
  readonly total: number
  readonly message: string
  /** The tool's current phase, e.g. nmap's "Service scan". */
  readonly task?: string
  /** The tool's own percentage of that phase. */
  readonly percent?: number
  /** The tool's estimate of the seconds the phase still needs. */
  readonly remainingSeconds?: number
  readonly found?: Found
  /** Seconds since the call arrived. */
  readonly elapsedSeconds?: number
}

export const ExecutionErrorType = Schema.Literal("timeout", "exit_code", "signal")

export const ExecutionMetadata = Schema.Struct({
  target: Schema.String.annotations({ description: "The target as the caller sent it" }),
  resolved_target: Schema.String.annotations({ description: "The address the tool was pinned to" }),
  argv: Schema.Array(Schema.String).annotations({ description: "The command line that ran" }),
  intrusive: Schema.Boolean,
  notes: Schema.Array(Schema.String),
  engagement: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }).annotations({
    description: "The engagement the call ran in; null outside one"
  }),
  engagement_hash: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }).annotations({
    description: "SHA-256 of the engagement's content when it ran"
  }),
  approval_id: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }).annotations({
    description: "The approval it ran under; null when it needed none"
  }),
  approved_by: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }).annotations({
    description: "The key that approved it"
  })
})

/** The outcome of a process that ran, as REST returns it and MCP summarises it. */
export const ExecutionResult = Schema.Struct({
  tool: Schema.String,
  stdout: Schema.String,
  stderr: Schema.String,
  returncode: Schema.NullOr(Schema.Number.pipe(Schema.int())),
  signal: Schema.NullOr(Schema.String),
  truncated_stdout: Schema.Boolean,
  truncated_stderr: Schema.Boolean,
  timed_out: Schema.Boolean,
  error: Schema.NullOr(Schema.String).annotations({
    description: "Set when the process ran but did not succeed (non-ok exit, signal, timeout)"
  }),
  error_type: Schema.NullOr(ExecutionErrorType),
  execution_time: Schema.Number.annotations({ description: "Seconds" }),
  correlation_id: Schema.String,
  metadata: ExecutionMetadata,
  structured: jsonValue("Parsed output (e.g. nmap hosts and ports) when the tool has a parser, else null"),
  summary: Schema.String.annotations({ description: "Compact text summary of structured, or of the raw output" }),
  scan_id: Schema.NullOr(ScanId).annotations({
    description: "The stored scan (GET /scans/{id}, MCP resource scan://{id}); null when storage is disabled"
  })
})
export type ExecutionResult = typeof ExecutionResult.Type

const nullableNumber = Schema.NullOr(Schema.Number)

/** Public description of a tool, as `/tools` and MCP `tools/list` show it. */
export const ToolInfo = Schema.Struct({
  name: Schema.String,
  title: Schema.String,
  description: Schema.String,
  enabled: Schema.Boolean,
  available: Schema.Boolean,
  unavailableReason: Schema.NullOr(Schema.String),
  version: Schema.NullOr(Schema.String),
  binary: Schema.String,
  intrusive: Schema.Boolean,
  target: Schema.Literal("host", "network", "url").annotations({
    description: "host: one address or name; network: a CIDR as well; url: a host with optional scheme, port and path"
  }),
  templates: Schema.Array(Schema.Struct({ name: Schema.String, description: Schema.String, args: Schema.Array(Schema.String) })),
  flags: Schema.Array(Schema.Struct({
    name: Schema.String,
    aliases: Schema.Array(Schema.String),
    value: Schema.String.annotations({ description: "What may follow the flag, in words; — for none" }),
    description: Schema.String,
    intrusive: Schema.Boolean,
    intrusiveValues: Schema.Array(Schema.String).annotations({ description: "Values of the flag that make a call intrusive" }),
    privileged: Schema.Boolean.annotations({ description: "Needs raw sockets (root); rewritten or dropped otherwise" })
  })),
  keyFlags: Schema.Array(Schema.String).annotations({ description: "The flags named first in the tool's one-line summary" }),
  timeoutSeconds: Schema.Number,
  concurrency: Schema.Number,
  circuitState: BreakerState,
  stats: Schema.Struct({
    total: Schema.Number.annotations({ description: "Executions since start-up" }),
    active: Schema.Number.annotations({ description: "Running now" }),
    successRate: nullableNumber,
    latencySeconds: Schema.Struct({ p50: nullableNumber, p95: nullableNumber, p99: nullableNumber }),
    errorsByType: Schema.Record({ key: Schema.String, value: Schema.Number }),
    timeouts: Schema.Number,
    window: Schema.Number.annotations({ description: "How many of the last executions the rates and percentiles cover" })
  }).annotations({ description: "Over the last executions: success rate, latency percentiles, errors by type, timeouts; active now" }),
  inputSchema: JsonObject,
  outputSchema: Schema.NullOr(JsonObject),
  annotations: Schema.Struct({
    title: Schema.String,
    readOnlyHint: Schema.Boolean,
    destructiveHint: Schema.Boolean,
    idempotentHint: Schema.Boolean,
    openWorldHint: Schema.Boolean
  })
})
export type ToolInfo = typeof ToolInfo.Type

/** A call that passed every check, as it is about to wait for its slot and run. */
export interface StartedCall {
  readonly tool: string
  readonly correlationId: string
  readonly target: string
  readonly resolvedTarget: string
  /** The command line that will run (binary first). */
  readonly argv: ReadonlyArray<string>
  readonly intrusive: boolean
  /** What the server changed on the caller's behalf (rewrites, resolution). */
  readonly notes: ReadonlyArray<string>
  /** The stored scan this call records into; null when storage is disabled. */
  readonly scanId: string | null
}

/** A scheduled run's standing approval: its id, the schedule and the digest of what the schedule's runs execute now. */
export interface StandingRef {
  readonly approvalId: string
  readonly scheduleId: string
  readonly digest: string
}

export interface ExecuteOptions {
  /** Progress while the call runs: the tool's reports, and at least one every `server.progress_interval`. */
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
  /** Told once the call passed every check, before it waits for its slot (MCP turns it into a log message). */
  readonly onStarted?: (call: StartedCall) => Effect.Effect<void>
  /**
   * The id the call's stored scan gets (from `ScanRecorder.newId`), when the
   * caller named it before the call (an MCP task is that scan's id).
   */
  readonly scanId?: string
  /** Only the scheduler sets it: the run needs its schedule's standing approval, which the approval step checks again. */
  readonly standingApproval?: StandingRef
}

/** See `ToolExecutor.plainRefuser`. */
export type PlainRefuser = (tool: string, input: unknown, caller: Caller) => ExecutionError | undefined

/**
 * The one entry point both transports use. Interrupting `execute` (client
 * cancellation, disconnect, shutdown) kills the tool's process group.
 */
export class ToolExecutor extends Context.Tag("security-mcp/ToolExecutor")<
  ToolExecutor,
  {
    readonly list: Effect.Effect<ReadonlyArray<ToolInfo>>
    readonly execute: (
      tool: string,
      input: unknown,
      caller: Caller,
      options?: ExecuteOptions
    ) => Effect.Effect<ExecutionResult, ExecutionError>
    /**
     * What `execute(tool, input, caller)` would answer when the first, pure
     * steps of planning refuse the call (see `plainRefusal` in plan.ts), as a
     * plain function that runs no fiber, so a transport can answer a refusal
     * without setting up a call. Made by an effect, once: the function is
     * bound to the clock and runtime of the fiber that runs it. It returns
     * that refusal, recorded exactly as `execute` records it (audit line,
     * metric, event); undefined, having done nothing, whenever `execute` must
     * decide: an accepted call, one that needs a service or would wait (its
     * audit line must be written first, a full audit queue), rate limits, a
     * draining server, switches not yet restored. A fake may leave it out.
     */
    readonly plainRefuser?: Effect.Effect<PlainRefuser>
    /** Operator switch, kept in the store across restarts; `by` names the operator (an API key id). */
    readonly setEnabled: (tool: string, enabled: boolean, by?: string) => Effect.Effect<ToolInfo, ToolNotFound>
    /**
     * Operator override of a tool's circuit breaker: `open` holds it open until
     * `closed`, which also forgets failures; kept in the store across restarts.
     */
    readonly setCircuit: (tool: string, state: "open" | "closed", by?: string) => Effect.Effect<ToolInfo, ToolNotFound>
    /**
     * Waits until the approval `approvalId` (of an `ApprovalRequired` answer)
     * is decided or expires; calling again with it then runs or is refused.
     */
    readonly awaitApproval: (approvalId: string) => Effect.Effect<void, ApprovalsUnavailable>
  }
>() {}
