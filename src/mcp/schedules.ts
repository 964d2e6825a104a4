import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either, Schema } from "effect"
import { errorBody, Forbidden, InvalidInput } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import type { Schedule } from "../storage/ScheduleRecord.js"
import type { SchedulesService } from "../watch/Schedules.js"

/**
 * Schedules: one MCP tool of the server itself for scheduled rescans, one
 * `action` at a time (create, list, get, delete), so the tool list stays
 * lean. Listed to callers with the schedule scope while the store is
 * enabled; the runs act as the caller's key. The REST API takes the other
 * fields of a schedule (template, engagement, jitter, max_runtime, alert,
 * webhooks); the tool list's token budget has no room for them.
 */

export const SCHEDULES_TOOL = "Schedules"

const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: "null" }] })

const inputSchema: Tool["inputSchema"] = {
  type: "object",
  properties: {
    action: { type: "string", enum: ["create", "list", "get", "delete"] },
    schedule_id: nullable({ type: "string" }),
    name: nullable({ type: "string" }),
    tool: nullable({ type: "string" }),
    target: nullable({ type: "string" }),
    args: nullable({ type: "array", items: { type: "string" } }),
    cron: nullable({ type: "string" }),
    interval: nullable({ type: "number" })
  },
  required: ["action", "schedule_id", "name", "tool", "target", "args", "cron", "interval"],
  additionalProperties: false
}

export const schedulesTool: Tool = {
  name: SCHEDULES_TOOL,
  title: "Scheduled rescans",
  description: "Rescans that run a tool as you on a 5-field UTC cron or an interval (s) and alert on change.",
  inputSchema,
  annotations: { title: "Scheduled rescans", readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true }
}

const Input = Schema.Struct({
  action: Schema.Literal("create", "list", "get", "delete"),
  schedule_id: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  name: Schema.optional(Schema.NullOr(Schema.String)),
  tool: Schema.optional(Schema.NullOr(Schema.String)),
  target: Schema.optional(Schema.NullOr(Schema.String)),
  args: Schema.optional(Schema.NullOr(Schema.Array(Schema.String))),
  cron: Schema.optional(Schema.NullOr(Schema.String)),
  interval: Schema.optional(Schema.NullOr(Schema.Number))
})

const decode = Schema.decodeUnknownEither(Input, { onExcessProperty: "error" })

const failed = (error: { readonly _tag: string; readonly message: string }): CallToolResult => ({
  content: [{ type: "text", text: `${error._tag}: ${error.message}` }],
  structuredContent: { error: errorBody(error) },
  isError: true
})

const line = (s: Schedule) =>
  `${s.schedule_id} ${s.name}: ${s.tool} ${s.target} ${s.cron ?? `every ${s.interval} s`}, next ${s.next_run_at}${
    s.recent_runs[0] === undefined ? "" : `, last ${s.recent_runs[0].status}`
  }`

/** The spec fields the caller gave (nulls are left out, so the schedule's defaults apply). */
const specOf = (input: typeof Input.Type) =>
  Object.fromEntries(
    Object.entries(input).filter(([key, value]) => key !== "action" && key !== "schedule_id" && value !== null && value !== undefined)
  )

const needId = (action: string) =>
  new InvalidInput({ message: `action ${action} needs schedule_id (from action list)`, issues: ["schedule_id: required"] })

/** One call of the Schedules tool as `caller`. */
export const callSchedules = (schedules: SchedulesService, args: unknown, caller: Caller): Effect.Effect<CallToolResult> => {
  const input = decode(args)
  if (Either.isLeft(input)) {
    return Effect.succeed(failed(
      new InvalidInput({
        message: `invalid Schedules input: action is one of create, list, get, delete; ${JSON.stringify(args)?.slice(0, 200)}`,
        issues: ["action: create | list | get | delete"]
      })
    ))
  }
  if (!caller.scopes.has("schedule")) {
    return Effect.succeed(failed(new Forbidden({ message: `API key ${caller.id} lacks the schedule scope` })))
  }
  const { action, schedule_id: id } = input.right
  const one = (s: Schedule): CallToolResult => ({ content: [{ type: "text", text: line(s) }], structuredContent: { schedule: s } })
  const effect: Effect.Effect<CallToolResult, { readonly _tag: string; readonly message: string }> = action === "list"
    ? Effect.map(schedules.list(caller), (all) => ({
      content: [{ type: "text", text: all.length === 0 ? "No schedules." : all.map(line).join("\n") }],
      structuredContent: { schedules: all }
    }))
    : action === "create"
    ? Effect.map(schedules.create(specOf(input.right), caller), one)
    : id === null
    ? Effect.fail(needId(action))
    : Effect.map(action === "get" ? schedules.get(id, caller) : schedules.remove(id, caller), one)
  return effect.pipe(Effect.catchAll((error) => Effect.succeed(failed(error))))
}
