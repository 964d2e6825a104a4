import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import type { Rendered } from "../../reports/formats.js"
import { diffReport, historyReport, reportSources, scanExportOf, scanReport } from "../../reports/gather.js"
import { REPORT_CSP } from "../../reports/html.js"
import { ScanStore } from "../../storage/ScanStore.js"
import { apiOf } from "../api/group.js"
import { Reports } from "../api/Reports.js"
import { CurrentCaller } from "../api/security.js"

/**
 * A report as sent: its media type, a file name, never cached, never
 * sniffed as another type; an HTML report with a policy that allows its own
 * style sheet and nothing else (no script, no request, no frame).
 */
const send = (report: Rendered, disposition: "inline" | "attachment") =>
  HttpServerResponse.raw(report.body, {
    contentType: report.mediaType,
    headers: {
      "content-disposition": `${disposition}; filename="${report.filename}"`,
      "x-content-type-options": "nosniff",
      "cache-control": "no-store",
      ...(report.format === "html" ? { "content-security-policy": REPORT_CSP } : {})
    }
  })

export const ReportsLive = HttpApiBuilder.group(apiOf(Reports), "reports", (handlers) =>
  Effect.gen(function*() {
    const sources = yield* reportSources(yield* ScanStore, yield* ConfigService)
    return handlers
      .handle("scan", ({ path, urlParams }) =>
        Effect.flatMap(CurrentCaller, (caller) =>
          scanReport(sources, path.id, caller, urlParams.format ?? "md")).pipe(
            Effect.map((report) => send(report, "inline"))
          ))
      .handle("diff", ({ path, urlParams }) =>
        Effect.flatMap(CurrentCaller, (caller) =>
          diffReport(sources, path.id, path.other, caller, urlParams.format ?? "md")).pipe(
            Effect.map((report) =>
              send(report, "inline")
            )
          ))
      .handle("history", ({ urlParams }) =>
        Effect.flatMap(CurrentCaller, (caller) =>
          historyReport(sources, urlParams.target, caller, urlParams.format ?? "md")).pipe(
            Effect.map((report) =>
              send(report, "inline")
            )
          ))
      .handle("export", ({ path, urlParams }) =>
        Effect.flatMap(CurrentCaller, (caller) =>
          scanExportOf(sources, path.id, caller, urlParams.format ?? "json")).pipe(
            Effect.map((report) =>
              send(report, "attachment")
            )
          ))
  }))
