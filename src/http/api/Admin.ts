import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { RedactedConfig } from "../redact.js"
import { apiErrors } from "./errors.js"
import { RequireScope } from "./security.js"

const events = HttpApiEndpoint.get("events", "/events")
  .addSuccess(
    HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({
      description: "Server-sent events, one frame per event: `event: <type>` and `data: <json>`; `: heartbeat` comments every 15 s"
    })
  )
  .annotate(OpenApi.Summary, "Executions, breaker transitions, config reloads and health changes as they happen")

const config = HttpApiEndpoint.get("config", "/config")
  .addSuccess(RedactedConfig.annotations({ identifier: "Config", description: "Effective configuration; key hashes masked" }))
  .annotate(OpenApi.Summary, "Effective configuration with secrets masked")

/** Operators only: the admin scope. */
export const Admin = HttpApiGroup.make("admin")
  .add(config)
  .add(events)
  .middleware(RequireScope.admin)
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Operator views (admin scope)")
