import type { Tool } from "@modelcontextprotocol/sdk/types.js"
import type { ToolInfo } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { outputSchemaFor } from "./toolResult.js"

/**
 * What a model is told about each tool: a lean, honest tool list. Every word
 * here is paid for on every turn of every conversation (about 200 tokens per
 * tool at most, measured by the tool-list benchmark), so the description
 * names what the tool does, its templates and its key flags, and points to
 * the full flag table (a resource) instead of repeating it. Only tools the
 * caller can use under the current configuration are listed, and the
 * annotations say what a call can do under it.
 */

/** What the list depends on besides the tools: the configuration and who asks. */
export interface ListContext {
  readonly allowIntrusive: boolean
  readonly caller: Caller
  /** The engagements the caller may name in `engagement` (the input schema offers the field when there are any). */
  readonly engagements?: ReadonlyArray<string>
  /** Whether a call of this caller may need an approval: the input schema then offers `approval_id`. */
  readonly approvals?: boolean
}

/** The URI of a tool's full flag table (served by the resources module). */
export const flagTableUri = (tool: string): string => `tools://${tool}/flags`

const mayIntrude = (context: ListContext) => context.allowIntrusive && context.caller.scopes.has("intrusive")

/** Whether the tool has anything intrusive in it: every call, a flag or a flag value. */
const hasIntrusiveParts = (tool: ToolInfo) => tool.intrusive || tool.flags.some((f) => f.intrusive || f.intrusiveValues.length > 0)

/** Whether a call of this tool can be intrusive under the current configuration, for this caller. */
export const canIntrude = (tool: ToolInfo, context: ListContext): boolean => mayIntrude(context) && hasIntrusiveParts(tool)

/**
 * Listed: enabled, its binary present, and usable by this caller: one that
 * may execute, and for a tool whose every call is intrusive (masscan), only
 * while intrusive operations are allowed and the caller has the scope.
 */
export const isListed = (tool: ToolInfo, context: ListContext): boolean =>
  tool.enabled && tool.available && context.caller.scopes.has("execute") && (!tool.intrusive || mayIntrude(context))

/**
 * The MCP hints, honest under the current configuration. A tool that can run
 * intrusive operations now (intrusive scripts, brute force, exploits, a
 * zone transfer, masscan's packet rates) is neither read-only nor
 * idempotent, and may be destructive: brute forcing locks accounts, exploit
 * and DoS-adjacent scripts can crash services, a packet flood can knock over
 * fragile devices, so a client should ask before running it. Otherwise the
 * tool's own hints stand: a scan or probe reads, it changes nothing, and
 * running it twice does the same. Every tool reaches hosts beyond the server
 * (open world).
 */
export const annotationsFor = (tool: ToolInfo, context: ListContext): NonNullable<Tool["annotations"]> => {
  const intrusive = canIntrude(tool, context)
  return {
    title: tool.title,
    readOnlyHint: tool.annotations.readOnlyHint && !intrusive,
    destructiveHint: tool.annotations.destructiveHint || intrusive,
    idempotentHint: tool.annotations.idempotentHint && !intrusive,
    openWorldHint: tool.annotations.openWorldHint
  }
}

/** The first sentence of a description (up to its first ". ", not an "e.g. "), which says what the tool does. */
export const firstSentence = (text: string): string => {
  const end = text.search(/(?<!\be\.g|\bi\.e)\.(\s|$)/)
  return end < 0 ? text : text.slice(0, end + 1)
}

/** Room for flag names in the one-line list, in characters (about 25 tokens). */
const FLAG_LINE_CHARS = 80

/** The flags the caller can pass now: intrusive ones only while intrusive operations are possible. */
export const usableFlags = (tool: ToolInfo, context: ListContext): ReadonlyArray<string> =>
  tool.flags.filter((f) => !f.intrusive || mayIntrude(context)).map((f) => f.name)

/** The key flags first, then the others in table order, as many as fit; a pointer to the full table when some did not. */
export const flagLine = (tool: ToolInfo, context: ListContext): string => {
  const usable = usableFlags(tool, context)
  if (usable.length === 0) return `Takes no flags.`
  const ordered = [...new Set([...tool.keyFlags.filter((f) => usable.includes(f)), ...usable])]
  const shown: Array<string> = []
  let length = 0
  for (const flag of ordered) {
    if (length + flag.length + 1 > FLAG_LINE_CHARS) break
    shown.push(flag)
    length += flag.length + 1
  }
  const rest = ordered.length - shown.length
  return rest === 0
    ? `Flags: ${shown.join(" ")}; values at ${flagTableUri(tool.name)}.`
    : `Flags: ${shown.join(" ")} and ${rest} more, all at ${flagTableUri(tool.name)}.`
}

/** What the tool does and its flags; the template names are in the schema, their arguments in the flag table. */
export const modelDescription = (tool: ToolInfo, context: ListContext): string =>
  `${firstSentence(tool.description)} ${flagLine(tool, context)}`

const targetText: Readonly<Record<ToolInfo["target"], string>> = {
  host: "One IP or host name in the allowed ranges",
  network: "One IP, host name or CIDR in the allowed ranges",
  url: "host, host:port or http(s)://host[:port]/path; the host must be allowed"
}

const nullable = (schema: Record<string, unknown>, description?: string) => ({
  anyOf: [schema, { type: "null" }],
  ...(description === undefined ? {} : { description })
})

/**
 * The input schema a model sees: the fields it needs (target, args,
 * template), in the subset strict function calling accepts (OpenAI strict
 * mode and Gemini): every property required, optional ones nullable,
 * `additionalProperties: false`, no keyword outside both subsets. The server
 * validates the real bounds itself and still accepts `extra_args`,
 * `timeout_sec` and `correlation_id` (see the README). `engagement` and
 * `approval_id` are offered only to callers who can use them, since a
 * strict-mode model can send no field its schema lacks.
 */
export const modelInputSchema = (tool: ToolInfo, context?: ListContext): Tool["inputSchema"] => {
  const [first, ...rest] = tool.templates.map((t) => t.name)
  const properties: Record<string, object> = {
    target: { type: "string", description: targetText[tool.target] },
    args: nullable({ type: "array", items: { type: "string" } }, "Flag tokens, e.g. [\"-p\",\"80\"]")
  }
  if (first !== undefined) properties["template"] = nullable({ type: "string", enum: [first, ...rest] })
  const [engagement, ...engagements] = context?.engagements ?? []
  if (engagement !== undefined) {
    properties["engagement"] = nullable({ type: "string", enum: [engagement, ...engagements] }, "Engagement to act in")
  }
  if (context?.approvals === true) {
    properties["approval_id"] = nullable({ type: "string" }, "After ApprovalRequired: its approval_id, once approved")
  }
  return { type: "object", properties, required: Object.keys(properties), additionalProperties: false }
}

/** One tool as `tools/list` shows it; tasks are offered where the server can run them. */
export const toMcpTool = (tool: ToolInfo, context: ListContext, tasks: boolean): Tool => ({
  name: tool.name,
  title: tool.title,
  description: modelDescription(tool, context),
  inputSchema: modelInputSchema(tool, context),
  outputSchema: outputSchemaFor(tool.outputSchema) as Tool["outputSchema"],
  annotations: annotationsFor(tool, context),
  ...(tasks ? { execution: { taskSupport: "optional" as const } } : {})
})
