import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import { Events } from "../../events/Events.js"
import { ExecutionGate } from "../../execution/ExecutionGate.js"
import { ScanRecorder } from "../../storage/ScanRecorder.js"
import { Admin } from "../api/Admin.js"
import { apiOf } from "../api/group.js"
import { redactConfig } from "../redact.js"
import { eventStream, scanProgress } from "../sse.js"
import { json } from "./json.js"

export const AdminLive = HttpApiBuilder.group(apiOf(Admin), "admin", (handlers) =>
  Effect.gen(function*() {
    const config = yield* ConfigService
    const events = yield* Events
    const gate = yield* ExecutionGate
    // Without a store (storage disabled) there is no scan progress to follow.
    const progress = Option.match(yield* Effect.serviceOption(ScanRecorder), { onNone: () => Stream.empty, onSome: scanProgress })
    return handlers
      .handle("config", () => Effect.map(config.get, (current) => json(redactConfig(current))))
      .handle("events", () =>
        Effect.succeed(
          HttpServerResponse.stream(eventStream(gate.draining, progress).pipe(Stream.provideService(Events, events)), {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
          })
        ))
  }))
