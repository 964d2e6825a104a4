import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import { Schedules as ScheduleService } from "../../watch/Schedules.js"
import { apiOf } from "../api/group.js"
import { Schedules } from "../api/Schedules.js"
import { CurrentCaller } from "../api/security.js"
import { readJsonBody } from "../body.js"
import { json } from "./json.js"

export const SchedulesLive = HttpApiBuilder.group(apiOf(Schedules), "schedules", (handlers) =>
  Effect.gen(function*() {
    const schedules = yield* ScheduleService
    const config = yield* ConfigService
    return handlers
      // Raw, so the body is read under server.max_body_bytes with its media type checked, and its issues name the field.
      .handleRaw("create", ({ request }) =>
        Effect.gen(function*() {
          const caller = yield* CurrentCaller
          const raw = yield* readJsonBody(request, (yield* config.get).server.max_body_bytes)
          return json(yield* schedules.create(raw, caller))
        }))
      .handle("list", () => Effect.flatMap(CurrentCaller, (caller) => Effect.map(schedules.list(caller), (all) => json(all))))
      .handle("get", ({ path }) => Effect.flatMap(CurrentCaller, (caller) => Effect.map(schedules.get(path.id, caller), (s) => json(s))))
      .handle("remove", ({ path }) =>
        Effect.flatMap(CurrentCaller, (caller) => Effect.map(schedules.remove(path.id, caller), (s) => json(s))))
  }))
