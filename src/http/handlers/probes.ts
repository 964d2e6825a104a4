import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { ExecutionGate } from "../../execution/ExecutionGate.js"
import { Health, type HealthReport, statusCode } from "../../observability/Health.js"
import { MetricsExporter } from "../../observability/MetricsExporter.js"
import { apiOf } from "../api/group.js"
import { Probes } from "../api/Probes.js"
import { json } from "./json.js"

/**
 * The `/health` answer: the last report with its status code. Health serves
 * the same report object until its next round or for a short while (see
 * `makeHealth`), and for the same report the same response is sent again,
 * so a burst of probes builds neither the report nor its JSON per request.
 * While the server drains it is `draining` (503) at once, whatever the
 * checks say, so load balancers stop sending.
 */
export const makeHealthAnswer = Effect.gen(function*() {
  const health = yield* Health
  const gate = yield* ExecutionGate
  const answer = (report: HealthReport) => json(report, statusCode(report.status))
  let last: { readonly report: HealthReport; readonly response: HttpServerResponse.HttpServerResponse } | undefined
  const current = Effect.map(health.report, (report) => {
    if (last?.report === report) return last.response
    const response = answer(report)
    last = { report, response }
    return response
  })
  return Effect.flatMap(
    gate.draining,
    (draining): Effect.Effect<HttpServerResponse.HttpServerResponse> =>
      draining ? Effect.map(health.report, (report) => answer({ ...report, status: "draining" })) : current
  )
})

export const ProbesLive = HttpApiBuilder.group(apiOf(Probes), "probes", (handlers) =>
  Effect.gen(function*() {
    const metrics = yield* MetricsExporter
    const health = yield* makeHealthAnswer
    return handlers
      .handle("health", () => health)
      .handle("metrics", () =>
        Effect.map(metrics.scrape, (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" })))
  }))
