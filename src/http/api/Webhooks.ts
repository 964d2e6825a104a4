import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { DeadLetterPage, Redelivery } from "../../storage/ScheduleRecord.js"
import { apiErrors } from "./errors.js"
import { RequireScope } from "./security.js"

/** Change alerts that failed every delivery attempt, for the operator (admin scope): read them, try one again. */

export const DEAD_LETTER_PAGE = 100

const DeadLetterPath = Schema.Struct({ id: Schema.String.annotations({ description: "The dead letter's id" }) })

export const Webhooks = HttpApiGroup.make("webhooks")
  .add(
    HttpApiEndpoint.get("deadLetters", "/webhooks/dead-letters")
      .setUrlParams(Schema.Struct({
        cursor: Schema.optional(Schema.String.pipe(Schema.pattern(/^[0-9A-Z]{26}$/))).annotations({
          description: "next_cursor of the previous page"
        }),
        limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, DEAD_LETTER_PAGE))).annotations({
          description: `Page size, 1 to ${DEAD_LETTER_PAGE} (default ${DEAD_LETTER_PAGE})`
        })
      }))
      .addSuccess(DeadLetterPage)
      .addError(apiErrors("StoreUnavailable"))
      .annotate(OpenApi.Summary, "Webhook deliveries that failed every retry, newest first, in cursor pages (admin scope)")
  )
  .add(
    HttpApiEndpoint.post("retry", "/webhooks/dead-letters/:id/retry")
      .setPath(DeadLetterPath)
      .addSuccess(Redelivery)
      .addError(apiErrors("DeadLetterNotFound", "StoreUnavailable"))
      .annotate(
        OpenApi.Summary,
        "Deliver a dead letter once more, now (fresh signature, same X-Alert-Id): removed when delivered, kept when not (admin scope)"
      )
  )
  .middleware(RequireScope.admin)
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Change alerts whose webhook deliveries failed for good (admin scope)")
