import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { AuditPage, AuditQuery } from "../../observability/auditSearch.js"
import { apiErrors } from "./errors.js"
import { RequireScope } from "./security.js"

/**
 * The audit log, searched where it lies (the configured file and its
 * rotated `.1`): operators only, and each search is an audit line itself.
 */
export const Audit = HttpApiGroup.make("audit")
  .add(
    HttpApiEndpoint.get("search", "/audit")
      .setUrlParams(AuditQuery)
      .addSuccess(AuditPage)
      .addError(apiErrors("InvalidInput", "AuditLogNotConfigured", "AuditUnavailable"))
      .annotate(
        OpenApi.Summary,
        "Search the audit log, newest first: key, tool, target, decision, outcome, time range, free text; cursor paging"
      )
  )
  .middleware(RequireScope.admin)
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "The audit log (admin scope; every search is audited)")
