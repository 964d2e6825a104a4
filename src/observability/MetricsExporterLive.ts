import { Metrics, Resource } from "@effect/opentelemetry"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { Effect, Layer } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { MetricsExporter } from "./MetricsExporter.js"

export interface MetricsExporterOptions {
  readonly serviceName: string
  readonly serviceVersion: string
}

/**
 * Effect's global metric registry, read through OpenTelemetry and rendered in
 * the Prometheus text format. The reader never starts its own HTTP server: the
 * server's `/metrics` route (and the optional separate port) call `scrape`.
 *
 * Scope labels and `target_info` are dropped because they add a constant label
 * to every series without telling operators anything the job label does not.
 *
 * With `metrics.enabled` false (read per scrape, so a reload applies at once)
 * the exposition is empty rather than an error: Prometheus then records the
 * target as up with no series, which is what "metrics disabled" means.
 */
export const MetricsExporterLive = (options: MetricsExporterOptions): Layer.Layer<MetricsExporter, never, ConfigService> =>
  Layer.unwrapEffect(Effect.sync(() => {
    const reader = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, withoutTargetInfo: true })
    const serializer = new PrometheusSerializer(undefined, false, undefined, true, true)
    // Metrics only: no tracer provider, which would cost every request and is not exported anywhere.
    const sdk = Metrics.layer(() => reader).pipe(
      Layer.provide(Resource.layer({ serviceName: options.serviceName, serviceVersion: options.serviceVersion }))
    )
    const exporter = Layer.effect(
      MetricsExporter,
      Effect.gen(function*() {
        const config = yield* ConfigService
        const collect = Effect.tryPromise(() => reader.collect()).pipe(
          Effect.tap(({ errors }) =>
            errors.length === 0 ? Effect.void : Effect.logWarning("metric collection reported errors", errors.map(String))
          ),
          Effect.map(({ resourceMetrics }) => serializer.serialize(resourceMetrics)),
          // A failed collection must not take the /metrics route down with a defect; the gap in the series is the signal.
          Effect.catchAll((error) => Effect.logError("metric collection failed", String(error.error)).pipe(Effect.as("")))
        )
        return {
          scrape: Effect.flatMap(config.get, (c) => c.metrics.enabled ? collect : Effect.succeed(""))
        }
      })
    )
    return Layer.provide(exporter, sdk)
  }))
