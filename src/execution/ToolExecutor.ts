import { Context, type Effect, Schema } from "effect"
import type { ExecutionError, ToolNotFound } from "../errors.js"

/** What a caller sends to run a tool (REST body and MCP `arguments`). */
export const ToolInput = Schema.Struct({
  target: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(253)).annotations({
    description: "One host, IPv4 address or CIDR inside the allowed ranges (e.g. 10.0.0.5, 192.168.1.0/28, web.lab.internal)"
  }),
  args: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(512))).pipe(Schema.maxItems(128))).annotations({
    description: "Arguments as separate tokens, e.g. [\"-sV\", \"-p\", \"22,80\"]. Only the tool's listed flags are accepted."
  }),
  extra_args: Schema.optional(Schema.String.pipe(Schema.maxLength(4096))).annotations({
    description: "Arguments as one string, split on whitespace (no shell, no quoting). Use args or extra_args, not both."
  }),
  template: Schema.optional(Schema.String).annotations({ description: "Named preset of arguments (see the tool description)" }),
  timeout_sec: Schema.optional(Schema.Number.pipe(Schema.positive())).annotations({ description: "Timeout in seconds, capped by the server" }),
  correlation_id: Schema.optional(Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._:-]{1,128}$/))).annotations({
    description: "Caller's id for this call, echoed in the result, logs and audit"
  })
})
export type ToolInput = typeof ToolInput.Type

export type Scope = "execute" | "intrusive" | "admin"

/** Who is calling: used for rate limiting, scope checks and the audit log. */
export interface Caller {
  readonly id: string
  readonly transport: "stdio" | "http" | "mcp-http"
  readonly address?: string
  readonly scopes: ReadonlySet<Scope>
  /** Per-key allow-list further restricting the server's target policy. */
  readonly allowedTargets?: ReadonlyArray<string>
}

export interface Progress {
  readonly progress: number
  readonly total: number
  readonly message?: string
}

export interface ExecutionResult {
  readonly tool: string
  readonly stdout: string
  readonly stderr: string
  readonly returncode: number | null
  readonly signal: string | null
  readonly truncated_stdout: boolean
  readonly truncated_stderr: boolean
  readonly timed_out: boolean
  /** Set when the process ran but did not succeed (non-ok exit, signal, timeout). */
  readonly error: string | null
  readonly error_type: "timeout" | "exit_code" | "signal" | null
  readonly execution_time: number
  readonly correlation_id: string
  readonly metadata: {
    readonly target: string
    readonly resolved_target: string
    readonly argv: ReadonlyArray<string>
    readonly intrusive: boolean
    readonly notes: ReadonlyArray<string>
  }
  /** Parsed output (e.g. nmap XML as typed JSON), when the tool has a parser. */
  readonly structured: unknown | null
  /** Compact text summary of `structured`, or of the raw output. */
  readonly summary: string
}

export interface ToolInfo {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly enabled: boolean
  readonly available: boolean
  readonly unavailableReason: string | null
  readonly version: string | null
  readonly binary: string
  readonly intrusive: boolean
  readonly templates: ReadonlyArray<{ readonly name: string; readonly description: string; readonly args: ReadonlyArray<string> }>
  readonly flags: ReadonlyArray<{ readonly name: string; readonly description: string; readonly intrusive: boolean }>
  readonly timeoutSeconds: number
  readonly concurrency: number
  readonly circuitState: "CLOSED" | "OPEN" | "HALF_OPEN"
  /** Over the last executions: success rate, latency percentiles, errors by type, timeouts, active now. */
  readonly stats: {
    readonly total: number
    readonly active: number
    readonly successRate: number | null
    readonly latencySeconds: { readonly p50: number | null; readonly p95: number | null; readonly p99: number | null }
    readonly errorsByType: Readonly<Record<string, number>>
    readonly timeouts: number
    readonly window: number
  }
  readonly inputSchema: Record<string, unknown>
  readonly outputSchema: Record<string, unknown> | null
  readonly annotations: {
    readonly title: string
    readonly readOnlyHint: boolean
    readonly destructiveHint: boolean
    readonly idempotentHint: boolean
    readonly openWorldHint: boolean
  }
}

export interface ExecuteOptions {
  readonly onProgress?: (progress: Progress) => Effect.Effect<void>
}

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
    readonly setEnabled: (tool: string, enabled: boolean) => Effect.Effect<ToolInfo, ToolNotFound>
    /** Operator override of a tool's circuit breaker: `open` holds it open until `closed`, which also forgets failures. */
    readonly setCircuit: (tool: string, state: "open" | "closed") => Effect.Effect<ToolInfo, ToolNotFound>
  }
>() {}
