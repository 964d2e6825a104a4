import { Schema } from "effect"

/** The typed failures of schedules, with what to do in `message`. */

/** No schedule with this id that the caller may see (other keys' schedules look the same as missing ones). */
export class ScheduleNotFound extends Schema.TaggedError<ScheduleNotFound>()("ScheduleNotFound", {
  schedule_id: Schema.String,
  message: Schema.String
}) {}

/** The schedule as sent cannot run: its fields, its timing, its tool or its webhooks; `issues` names each problem. */
export class ScheduleInvalid extends Schema.TaggedError<ScheduleInvalid>()("ScheduleInvalid", {
  message: Schema.String,
  issues: Schema.Array(Schema.String)
}) {}

/** The schedule clashes with one that exists (same name for the key) or belongs to the configuration. */
export class ScheduleConflict extends Schema.TaggedError<ScheduleConflict>()("ScheduleConflict", {
  schedule_id: Schema.String,
  message: Schema.String
}) {}

export const scheduleNotFound = (id: string) =>
  new ScheduleNotFound({
    schedule_id: id,
    message:
      `No schedule ${id} that this key may see. Schedule ids come from POST /schedules or GET /schedules; a key sees only its own schedules unless it has the admin scope.`
  })

export const scheduleInvalid = (issues: ReadonlyArray<string>) =>
  new ScheduleInvalid({ message: `invalid schedule: ${issues.join("; ")}`, issues })
