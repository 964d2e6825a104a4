import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ScanExport } from "../../reports/exports.js"
import { ExportFormat, MEDIA_TYPES, ReportFormat } from "../../reports/formats.js"
import { REPORT_CSP } from "../../reports/html.js"
import { apiErrors } from "./errors.js"
import { Authenticated } from "./security.js"

/**
 * Reports (Markdown or self-contained HTML) of a stored scan, a diff and a
 * target's history, and exports (JSON or CSV) of a scan's hosts and ports.
 * Each reads as `GET /scans/{id}` does: a key sees its own scans, admin all.
 */

const ReportQuery = Schema.Struct({
  format: Schema.optional(ReportFormat.annotations({ description: "md (Markdown, the default) or html (one self-contained page)" }))
})

const ExportQuery = Schema.Struct({
  format: Schema.optional(ExportFormat.annotations({ description: "json (the default) or csv (one row per port)" }))
})

const text = { schema: { type: "string" } }

const header = (description: string) => ({ description, schema: { type: "string" } })

const REPORT_HEADERS = {
  "Content-Disposition": header("inline; filename=\"scan-ID.md\" (or .html): the name to save it under"),
  "Content-Security-Policy": header(`HTML reports only: ${REPORT_CSP}`),
  "X-Content-Type-Options": header("nosniff"),
  "Cache-Control": header("no-store: reports hold scan results")
}

/** HttpApi documents one media type per status: the other format of the same body is added to the operation here. */
const alsoServes = (mediaType: string, headers: Record<string, unknown>) => (operation: Record<string, any>) => {
  const ok = operation["responses"]?.["200"]
  if (ok === undefined) return operation
  return {
    ...operation,
    responses: { ...operation["responses"], "200": { ...ok, headers, content: { ...ok.content, [mediaType]: text } } }
  }
}

const Report = HttpApiSchema.Text({ contentType: "text/markdown" }).annotations({
  description: `The report: ${MEDIA_TYPES.md} by default, ${MEDIA_TYPES.html} with format=html (inline CSS only, no scripts)`
})

const reportErrors = apiErrors("InvalidInput", "ScanNotFound", "StoreUnavailable")

export const Reports = HttpApiGroup.make("reports")
  .add(
    HttpApiEndpoint.get("scan", "/scans/:id/report")
      .setPath(Schema.Struct({ id: Schema.String.annotations({ description: "scan_id of an execute response" }) }))
      .setUrlParams(ReportQuery)
      .addSuccess(Report)
      .addError(reportErrors)
      .annotate(OpenApi.Summary, "Report of a stored scan: hosts, ports, services, scripts, totals, flags and the engagement appendix")
      .annotate(OpenApi.Transform, alsoServes("text/html", REPORT_HEADERS))
  )
  .add(
    HttpApiEndpoint.get("diff", "/scans/:id/diff/:other/report")
      .setPath(Schema.Struct({
        id: Schema.String.annotations({ description: "The earlier scan" }),
        other: Schema.String.annotations({ description: "The later scan" })
      }))
      .setUrlParams(ReportQuery)
      .addSuccess(Report)
      .addError(reportErrors)
      .annotate(OpenApi.Summary, "Report of what changed from one nmap or masscan scan to another")
      .annotate(OpenApi.Transform, alsoServes("text/html", REPORT_HEADERS))
  )
  .add(
    // A query parameter, not a path segment: a CIDR's slash may not be percent-encoded in a path (one normal form).
    HttpApiEndpoint.get("history", "/history/report")
      .setUrlParams(Schema.Struct({
        target: Schema.String.annotations({ description: "The target as sent (a host, an address or a CIDR) or the pinned address" }),
        ...ReportQuery.fields
      }))
      .addSuccess(Report)
      .addError(apiErrors("InvalidInput", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "Report of a target's history: its newest scans, the changes between them, where it stands")
      .annotate(OpenApi.Transform, alsoServes("text/html", REPORT_HEADERS))
  )
  .add(
    HttpApiEndpoint.get("export", "/scans/:id/export")
      .setPath(Schema.Struct({ id: Schema.String.annotations({ description: "scan_id of an nmap or masscan scan" }) }))
      .setUrlParams(ExportQuery)
      .addSuccess(ScanExport)
      .addError(reportErrors)
      .annotate(OpenApi.Summary, "The hosts and ports of a stored nmap or masscan scan, as JSON or CSV (formula-safe)")
      .annotate(
        OpenApi.Transform,
        alsoServes("text/csv", {
          "Content-Disposition": header("attachment; filename=\"scan-ID-hosts.json\" (or .csv)"),
          "Cache-Control": header("no-store")
        })
      )
  )
  .middleware(Authenticated)
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Reports and exports of stored scans (a key sees its own, admin sees all)")
