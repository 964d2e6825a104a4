import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { JSONSchema, Schema } from "effect"
import type { ExecutionError } from "../errors.js"
import type { ExecutionResult } from "../execution/ToolExecutor.js"

/**
 * How an execution becomes an MCP tool result. The SDK client validates
 * `structuredContent` against the advertised `outputSchema` even when
 * `isError` is set, so the advertised schema covers both shapes:
 * `{ result, execution }` for a process that ran and `{ error }` for a typed
 * failure.
 */

export const ExecutionMeta = Schema.Struct({
  tool: Schema.String,
  correlation_id: Schema.String,
  returncode: Schema.NullOr(Schema.Number),
  signal: Schema.NullOr(Schema.String),
  timed_out: Schema.Boolean,
  error: Schema.NullOr(Schema.String),
  error_type: Schema.NullOr(Schema.Literal("timeout", "exit_code", "signal")),
  execution_time: Schema.Number,
  truncated_stdout: Schema.Boolean,
  truncated_stderr: Schema.Boolean,
  target: Schema.String,
  resolved_target: Schema.String,
  argv: Schema.Array(Schema.String),
  intrusive: Schema.Boolean,
  notes: Schema.Array(Schema.String)
})
export type ExecutionMeta = typeof ExecutionMeta.Type

const errorBodySchema = {
  type: "object",
  required: ["_tag", "message"],
  properties: { _tag: { type: "string" }, message: { type: "string" } },
  additionalProperties: true
}

/** Inner `$schema` would make ajv look for a meta-schema it may not have; `$defs` must sit at the root for `#/$defs/…` refs to resolve. */
const splitDefinitions = (schema: Record<string, unknown>) => {
  const { $schema: _ignored, $defs, definitions, ...rest } = schema
  return { body: rest, $defs: $defs as Record<string, unknown> | undefined, definitions: definitions as Record<string, unknown> | undefined }
}

/** The MCP `outputSchema` of a tool whose parsed output has the JSON Schema `toolSchema` (null when the tool has no parser). */
export const outputSchemaFor = (toolSchema: Record<string, unknown> | null): Record<string, unknown> => {
  const meta = splitDefinitions(JSONSchema.make(ExecutionMeta) as unknown as Record<string, unknown>)
  const tool = toolSchema === null ? null : splitDefinitions(toolSchema)
  const $defs = { ...meta.$defs, ...tool?.$defs }
  const definitions = { ...meta.definitions, ...tool?.definitions }
  return {
    type: "object",
    properties: {
      result: tool === null ? {} : { anyOf: [tool.body, { type: "null" }] },
      execution: meta.body,
      error: errorBodySchema
    },
    anyOf: [{ required: ["execution"] }, { required: ["error"] }],
    ...(Object.keys($defs).length > 0 ? { $defs } : {}),
    ...(Object.keys(definitions).length > 0 ? { definitions } : {})
  }
}

export const executionMeta = (result: ExecutionResult): ExecutionMeta => ({
  tool: result.tool,
  correlation_id: result.correlation_id,
  returncode: result.returncode,
  signal: result.signal,
  timed_out: result.timed_out,
  error: result.error,
  error_type: result.error_type,
  execution_time: result.execution_time,
  truncated_stdout: result.truncated_stdout,
  truncated_stderr: result.truncated_stderr,
  target: result.metadata.target,
  resolved_target: result.metadata.resolved_target,
  argv: result.metadata.argv,
  intrusive: result.metadata.intrusive,
  notes: result.metadata.notes
})

/** stderr explains most failures but may be large; agents get its end, where tools print their fatal message. */
const STDERR_TAIL = 2000

const tail = (text: string, max: number) => (text.length <= max ? text : `…${text.slice(text.length - max)}`)

/** A process that ran: a failed one (timeout, signal, non-ok exit) is `isError` with the same structured detail. */
export const executionToolResult = (result: ExecutionResult): CallToolResult => {
  const failed = result.error !== null
  const stderr = result.stderr.trim()
  const text = failed
    ? [`Error: ${result.error}`, result.summary, stderr === "" ? "" : `stderr:\n${tail(stderr, STDERR_TAIL)}`]
      .filter((part) => part !== "")
      .join("\n\n")
    : result.summary
  return {
    content: [{ type: "text", text }],
    structuredContent: { result: result.structured ?? null, execution: executionMeta(result) },
    isError: failed
  }
}

export interface ErrorBody {
  readonly _tag: string
  readonly message: string
  readonly [field: string]: unknown
}

/** A typed error's tag, message and fields (token, rule, retryAfterSeconds …); never the stack or cause. */
export const errorBody = (error: { readonly _tag: string; readonly message: string }): ErrorBody => {
  const fields: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(error)) {
    if (key !== "stack" && key !== "cause" && key !== "_tag" && key !== "message") fields[key] = value
  }
  return { _tag: error._tag, message: error.message, ...fields }
}

export const errorToolResult = (error: ExecutionError): CallToolResult => {
  const body = errorBody(error)
  return {
    content: [{ type: "text", text: `${body._tag}: ${body.message}` }],
    structuredContent: { error: body },
    isError: true
  }
}
