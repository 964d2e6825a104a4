import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { Health, statusCode } from "../../observability/Health.js"
import { MetricsExporter } from "../../observability/MetricsExporter.js"
import { apiOf } from "../api/group.js"
import { Probes } from "../api/Probes.js"
import { json } from "./json.js"

export const ProbesLive = HttpApiBuilder.group(apiOf(Probes), "probes", (handlers) =>
  Effect.gen(function*() {
    const health = yield* Health
    const metrics = yield* MetricsExporter
    return handlers
      .handle("health", () => Effect.map(health.report, (report) => json(report, statusCode(report.status))))
      .handle("metrics", () =>
        Effect.map(metrics.scrape, (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })))
  }))
