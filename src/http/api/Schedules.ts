import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ScheduleSpec } from "../../config/watch.js"
import { Schedule } from "../../storage/ScheduleRecord.js"
import { apiErrors } from "./errors.js"
import { Authenticated, RequireScope } from "./security.js"

/**
 * Scheduled rescans: created and removed by a key with the schedule scope
 * (the runs act as that key, through the same policy and audit as its own
 * calls), read by their owner; an admin sees every key's.
 */

const SchedulePath = Schema.Struct({ id: Schema.String.annotations({ description: "The schedule_id" }) })

/** The body of POST /schedules, documented; the handler reads it raw, under the body limit. */
export const ScheduleBody = ScheduleSpec.annotations({
  identifier: "ScheduleInput",
  description: "What to run and when: tool, target, args or template, engagement, cron (five fields, UTC) or interval, alert rule, webhooks"
})

/** The body of PATCH /schedules/{id}. */
export const ScheduleChange = Schema.Struct({
  enabled: Schema.Boolean.annotations({ description: "false: its runs stop (the one running ends); true: it runs again" })
}).annotations({ identifier: "ScheduleChange" })

export const Schedules = HttpApiGroup.make("schedules")
  .add(
    HttpApiEndpoint.post("create", "/schedules")
      .setPayload(ScheduleBody)
      .addSuccess(Schedule)
      .addError(apiErrors("ScheduleInvalid", "ScheduleConflict", "StoreUnavailable", "PayloadTooLarge", "UnsupportedMediaType"))
      .middleware(RequireScope.schedule)
      .annotate(OpenApi.Summary, "Schedule a rescan that runs as this key (schedule scope)")
  )
  .add(
    HttpApiEndpoint.get("list", "/schedules")
      .addSuccess(Schema.Array(Schedule).annotations({ description: "The schedules this key may see" }))
      .addError(apiErrors("StoreUnavailable"))
      .middleware(Authenticated)
      .annotate(OpenApi.Summary, "This key's schedules (every key's for an admin), with their recent runs")
  )
  .add(
    HttpApiEndpoint.get("get", "/schedules/:id")
      .setPath(SchedulePath)
      .addSuccess(Schedule)
      .addError(apiErrors("ScheduleNotFound", "StoreUnavailable"))
      .middleware(Authenticated)
      .annotate(OpenApi.Summary, "One schedule, its next run and its recent runs")
  )
  .add(
    HttpApiEndpoint.del("remove", "/schedules/:id")
      .setPath(SchedulePath)
      .addSuccess(Schedule)
      .addError(apiErrors("ScheduleNotFound", "ScheduleConflict", "StoreUnavailable"))
      .middleware(RequireScope.schedule)
      .annotate(OpenApi.Summary, "Remove a schedule (schedule scope; those of the configuration are removed there)")
  )
  .add(
    HttpApiEndpoint.patch("update", "/schedules/:id")
      .setPath(SchedulePath)
      .setPayload(ScheduleChange)
      .addSuccess(Schedule)
      .addError(
        apiErrors(
          "ScheduleNotFound",
          "ScheduleConflict",
          "StoreUnavailable",
          "AuditUnavailable",
          "PayloadTooLarge",
          "UnsupportedMediaType"
        )
      )
      .middleware(Authenticated)
      .annotate(
        OpenApi.Summary,
        "Enable or disable a schedule (its owner with the schedule scope, or an admin; audited; those of the configuration are set there)"
      )
  )
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Scheduled rescans that alert on change (webhooks, /events, MCP resource updates)")
