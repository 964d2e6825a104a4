import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { ExecutionGate } from "../../execution/ExecutionGate.js"
import { Health, statusCode } from "../../observability/Health.js"
import { MetricsExporter } from "../../observability/MetricsExporter.js"
import { apiOf } from "../api/group.js"
import { Probes } from "../api/Probes.js"
import { json } from "./json.js"

export const ProbesLive = HttpApiBuilder.group(apiOf(Probes), "probes", (handlers) =>
  Effect.gen(function*() {
    const health = yield* Health
    const metrics = yield* MetricsExporter
    const gate = yield* ExecutionGate
    // While the server drains, load balancers must stop sending: 503 `draining`, whatever the checks say.
    const current = Effect.zipWith(health.report, gate.draining, (report, draining) =>
      draining ? { ...report, status: "draining" as const } : report)
    return handlers
      .handle("health", () =>
        Effect.map(current, (report) =>
          json(report, statusCode(report.status))))
      .handle("metrics", () =>
        Effect.map(metrics.scrape, (text) =>
          HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })))
  }))
