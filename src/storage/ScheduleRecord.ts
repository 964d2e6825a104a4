import { Schema } from "effect"
import { ScheduleSpec } from "../config/watch.js"

/**
 * A schedule and its runs as the REST API, the MCP tool and the store
 * return them: the spec as created, plus who owns it, where it came from
 * and when it runs next.
 */

const instant = Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } })

export const RunStatus = Schema.Literal("running", "succeeded", "failed", "skipped", "interrupted").annotations({
  description:
    "running; succeeded (the scan ran and was stored); failed (refused by policy or the tool failed: see reason); skipped (not run, e.g. it needs an approval); interrupted (its instance died or stopped)"
})
export type RunStatus = typeof RunStatus.Type

export const ScheduleRun = Schema.Struct({
  run_id: Schema.String,
  schedule_id: Schema.String,
  attempt: Schema.Number.annotations({ description: "1, or 2 for the one retry of an interrupted run" }),
  due_at: instant,
  started_at: instant,
  finished_at: Schema.NullOr(instant),
  instance_id: Schema.String.annotations({ description: "The server instance that ran it" }),
  status: RunStatus,
  scan_id: Schema.NullOr(Schema.String).annotations({ description: "The stored scan of the run" }),
  reason: Schema.NullOr(Schema.String).annotations({ description: "Why it failed or was skipped" }),
  changes: Schema.NullOr(Schema.Number).annotations({
    description: "Changes found against the schedule's previous scan; null when there was nothing to compare"
  })
}).annotations({ identifier: "ScheduleRun" })
export type ScheduleRun = typeof ScheduleRun.Type

export const ScheduleSource = Schema.Literal("api", "config")

export const Schedule = Schema.Struct({
  schedule_id: Schema.String,
  ...ScheduleSpec.fields,
  owner: Schema.String.annotations({ description: "The API key the runs act as (operator: the local operator)" }),
  source: ScheduleSource.annotations({ description: "api: created through the API or MCP; config: from watch.schedules" }),
  created_at: instant,
  next_run_at: instant.annotations({ description: "When it runs next (jitter included), if enabled" }),
  running: Schema.Boolean,
  recent_runs: Schema.Array(ScheduleRun).annotations({ description: "The newest runs, newest first" })
}).annotations({ identifier: "Schedule" })
export type Schedule = typeof Schedule.Type

/** A webhook delivery that failed every retry, kept for the operator. */
export const DeadLetter = Schema.Struct({
  id: Schema.String,
  webhook: Schema.String,
  schedule_id: Schema.String,
  run_id: Schema.String,
  payload: Schema.String,
  attempts: Schema.Number,
  last_error: Schema.String,
  created_at: instant
})
export type DeadLetter = typeof DeadLetter.Type
