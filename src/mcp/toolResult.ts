import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { JSONSchema, Schema } from "effect"
import { ErrorBody, errorBody, type ExecutionError } from "../errors.js"
import { ExecutionResult } from "../execution/ToolExecutor.js"
import { fenceLines } from "../tools/summary/fence.js"

/**
 * How an execution becomes an MCP tool result. The SDK client validates
 * `structuredContent` against the advertised `outputSchema` even when
 * `isError` is set, so the advertised schema covers both shapes:
 * `{ result, execution }` for a process that ran and `{ error }` for a typed
 * failure.
 */

/** The MCP view of an execution: its status fields with the metadata flattened in; the parsed output travels as `result`, the summary (and a failure's stderr tail) as text. */
export const ExecutionMeta = Schema.Struct({
  ...ExecutionResult.omit("stdout", "stderr", "metadata", "structured", "summary").fields,
  ...ExecutionResult.fields.metadata.fields
})
export type ExecutionMeta = typeof ExecutionMeta.Type

/** Inner `$schema` would make ajv look for a meta-schema it may not have; `$defs` must sit at the root for `#/$defs/…` refs to resolve. */
const splitDefinitions = (schema: Record<string, unknown>) => {
  const { $schema: _ignored, $defs, definitions, ...rest } = schema
  return {
    body: rest,
    $defs: $defs as Record<string, unknown> | undefined,
    definitions: definitions as Record<string, unknown> | undefined
  }
}

export const jsonSchemaOf = (schema: Schema.Schema.Any) => splitDefinitions(JSONSchema.make(schema) as unknown as Record<string, unknown>)

const meta = jsonSchemaOf(ExecutionMeta)
const error = jsonSchemaOf(ErrorBody)

type Split = ReturnType<typeof splitDefinitions>

/**
 * An `outputSchema` whose object holds `success` (its properties, any of
 * which the success shape requires) or `error`, with every definition at the
 * root.
 */
export const withErrorShape = (
  success: Readonly<Record<string, unknown>>,
  required: ReadonlyArray<string>,
  parts: ReadonlyArray<Split>
): Record<string, unknown> => {
  const all = [...parts, error]
  const $defs = Object.assign({}, ...all.map((p) => p.$defs))
  const definitions = Object.assign({}, ...all.map((p) => p.definitions))
  return {
    type: "object",
    properties: { ...success, error: error.body },
    anyOf: [{ required }, { required: ["error"] }],
    ...(Object.keys($defs).length > 0 ? { $defs } : {}),
    ...(Object.keys(definitions).length > 0 ? { definitions } : {})
  }
}

/** The MCP `outputSchema` of a tool whose parsed output has the JSON Schema `toolSchema` (null when the tool has no parser). */
export const outputSchemaFor = (toolSchema: Record<string, unknown> | null): Record<string, unknown> => {
  const tool = toolSchema === null ? null : splitDefinitions(toolSchema)
  return withErrorShape(
    { result: tool === null ? {} : { anyOf: [tool.body, { type: "null" }] }, execution: meta.body },
    ["execution"],
    tool === null ? [meta] : [meta, tool]
  )
}

export const executionMeta = (result: ExecutionResult): ExecutionMeta => {
  const { stdout: _stdout, stderr: _stderr, metadata, structured: _structured, summary: _summary, ...status } = result
  return { ...status, ...metadata }
}

/**
 * stderr explains most failures but may be large; agents get its end, where tools print their fatal message, fenced: it can
 * hold what the host sent (curl -v prints every response header there).
 */
const STDERR_TAIL = 2000

const tail = (text: string, max: number) => (text.length <= max ? text : `…${text.slice(text.length - max)}`)

/** The stored scan of a call, linked from its result (the whole result, raw output and hosts are read from there). */
export const scanLink = (scanId: string) => ({
  type: "resource_link" as const,
  uri: `scan://${scanId}`,
  name: `scan-${scanId}`,
  title: `Stored scan ${scanId}`,
  description: `The whole result and summary; raw output at scan://${scanId}/raw, one host at scan://${scanId}/hosts/{address}`,
  mimeType: "application/json"
})

/** A process that ran: a failed one (timeout, signal, non-ok exit) is `isError` with the same structured detail. */
export const executionToolResult = (result: ExecutionResult): CallToolResult => {
  const failed = result.error !== null
  const stderr = result.stderr.trim()
  const text = failed
    ? [`Error: ${result.error}`, result.summary, stderr === "" ? "" : `stderr:\n${fenceLines(tail(stderr, STDERR_TAIL))}`]
      .filter((part) => part !== "")
      .join("\n\n")
    : result.summary
  return {
    content: [{ type: "text", text }, ...(result.scan_id === null ? [] : [scanLink(result.scan_id)])],
    structuredContent: { result: result.structured ?? null, execution: executionMeta(result) },
    isError: failed
  }
}

/** What to do about an error whose message cannot say it (it comes from below the policy). */
const nextStep = (error: ExecutionError): string =>
  error._tag === "SpawnFailed"
    ? " The server could not start the tool, which no other arguments will fix: tell the operator (the server log has the details)."
    : ""

export const errorToolResult = (error: ExecutionError): CallToolResult => {
  const body = errorBody(error)
  return {
    content: [{ type: "text", text: `${body._tag}: ${body.message}${nextStep(error)}` }],
    structuredContent: { error: body },
    isError: true
  }
}
