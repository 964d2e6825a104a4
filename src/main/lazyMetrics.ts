import { Context, Effect, Layer } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { MetricsExporter } from "../observability/MetricsExporter.js"
import { serverInfo } from "./info.js"

/**
 * The Prometheus exporter with OpenTelemetry's SDK loaded on the first scrape
 * rather than at start-up: most servers (every stdio one without a Prometheus
 * port) are never scraped. Nothing is lost by waiting: the SDK reads Effect's
 * own metric registry, which counts from the start either way.
 */
export const LazyMetricsExporter: Layer.Layer<MetricsExporter, never, ConfigService> = Layer.scoped(
  MetricsExporter,
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const context = yield* Effect.context<ConfigService>()
    const exporter = yield* Effect.cached(
      Effect.promise(() => import("../observability/MetricsExporterLive.js")).pipe(
        Effect.flatMap((live) => Layer.buildWithScope(live.MetricsExporterLive(serverInfo), scope)),
        Effect.map(Context.get(MetricsExporter)),
        Effect.provide(context)
      )
    )
    return { scrape: Effect.flatMap(exporter, (live) => live.scrape) }
  })
)

/**
 * The separate Prometheus port (`metrics.prometheus_enabled`), with node:http
 * loaded only when it is on: a stdio server usually has no HTTP server at all.
 */
export const LazyPrometheusPort: Layer.Layer<never, never, ConfigService | MetricsExporter> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* (yield* ConfigService).get
    if (!config.metrics.enabled || !config.metrics.prometheus_enabled) return Layer.empty
    return (yield* Effect.promise(() => import("../observability/PrometheusPort.js"))).PrometheusPortLive
  })
)
