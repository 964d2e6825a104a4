import { Effect, Layer, Runtime } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { ConfigService } from "../config/ConfigService.js"
import { MetricsExporter } from "./MetricsExporter.js"

/**
 * The optional separate Prometheus port (`metrics.prometheus_enabled`): only
 * `GET /metrics`, so it can be exposed to a scraper without exposing the API.
 * Works in stdio mode too, where there is no other HTTP server.
 */
export const PrometheusPortLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* (yield* ConfigService).get
    if (!config.metrics.enabled || !config.metrics.prometheus_enabled) return
    const exporter = yield* MetricsExporter
    const runtime = yield* Effect.runtime<never>()
    const server = createServer((req, res) => {
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n")
        return
      }
      Runtime.runPromise(runtime)(exporter.scrape).then(
        (text) => res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }).end(text),
        () => res.writeHead(500).end()
      )
    })
    yield* Effect.async<void, Error>((resume) => {
      server.once("error", (error) => resume(Effect.fail(error)))
      server.listen(config.metrics.prometheus_port, config.metrics.prometheus_host, () => resume(Effect.void))
    }).pipe(Effect.orDie)
    const address = server.address() as AddressInfo
    yield* Effect.logInfo(`prometheus metrics on http://${address.address}:${address.port}/metrics`)
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
    )
  })
)
