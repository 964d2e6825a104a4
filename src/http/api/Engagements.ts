import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Engagement } from "../../policy/Engagement.js"
import { apiErrors } from "./errors.js"
import { RequireScope } from "./security.js"

export const EngagementView = Schema.Struct({
  ...Engagement.fields,
  hash: Schema.String.annotations({ description: "SHA-256 of the engagement's content, as audit lines and results name it" })
}).annotations({ identifier: "Engagement", description: "An engagement as configured, with its content hash" })

/** The engagements in force: operators only. */
export const Engagements = HttpApiGroup.make("engagements")
  .add(
    HttpApiEndpoint.get("list", "/engagements")
      .addSuccess(Schema.Array(EngagementView).annotations({ description: "Every engagement, inline and from engagements_dir" }))
      .middleware(RequireScope.admin)
      .annotate(OpenApi.Summary, "Engagements in force, with their content hashes (admin scope)")
  )
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Engagements: written scopes as code")
