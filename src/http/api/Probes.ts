import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { HealthReport, type ReportStatus, statusCode } from "../../observability/Health.js"

/**
 * Load balancers and scrapers reach these by pod IP or service name, and they
 * reveal nothing a rebinding page could abuse: no key, and no Host/Origin
 * check (the only group without it).
 */

/** The report with the status code `statusCode` gives it (annotated in one call: a later one would drop the identifier). */
const report = (status: ReportStatus, description = `The server is ${status}`) =>
  HealthReport.annotations(HttpApiSchema.annotations({ identifier: "HealthReport", description, status: statusCode(status) }))

const health = HttpApiEndpoint.get("health", "/health")
  .addSuccess(report("healthy"))
  .addSuccess(report("degraded"))
  .addError(report("unhealthy", "The server is unhealthy, or draining: shutting down, it takes no new work"))
  .annotate(OpenApi.Summary, "Health report (no key needed)")

const metrics = HttpApiEndpoint.get("metrics", "/metrics")
  .addSuccess(
    HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }).annotations({
      description: "Prometheus text format"
    })
  )
  .annotate(OpenApi.Summary, "Prometheus metrics (no key needed)")

export const Probes = HttpApiGroup.make("probes")
  .add(health)
  .add(metrics)
  .annotate(OpenApi.Description, "Probes: no key needed, and exempt from the Host/Origin check")
