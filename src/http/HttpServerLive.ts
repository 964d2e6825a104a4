import { HttpMiddleware, HttpServer } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Effect, Either, Layer } from "effect"
import { createServer } from "node:http"
import { ConfigService } from "../config/ConfigService.js"
import { ConfigInvalid } from "../errors.js"
import type { Events } from "../events/Events.js"
import type { ToolExecutor } from "../execution/ToolExecutor.js"
import type { ServerInfo } from "../mcp/McpServer.js"
import type { Health } from "../observability/Health.js"
import type { MetricsExporter } from "../observability/MetricsExporter.js"
import { checkBindSafety } from "./auth.js"
import { makeHttpApp } from "./HttpApp.js"

/**
 * The listening Node server on `server.host`/`server.port`. Open responses
 * (SSE, MCP streams) would keep `server.close()` waiting forever, so at
 * shutdown every connection is destroyed first, which interrupts the fibers
 * serving them.
 */
const NodeServerLive = Layer.scoped(
  HttpServer.HttpServer,
  Effect.gen(function*() {
    const config = yield* (yield* ConfigService).get
    const bindSafety = checkBindSafety(config)
    if (Either.isLeft(bindSafety)) return yield* bindSafety.left
    // Slow clients (slowloris) are dropped in seconds, not Node's default minutes; responses may stream for long.
    const node = createServer({ headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1_000 })
    node.maxConnections = config.server.max_connections
    const server = yield* NodeHttpServer.make(() => node, { host: config.server.host, port: config.server.port })
    yield* Effect.addFinalizer(() => Effect.sync(() => node.closeAllConnections()))
    return server
  })
)

const AppLive = (info: ServerInfo) =>
  Layer.scopedDiscard(
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const port = server.address._tag === "TcpAddress" ? server.address.port : 0
      const app = yield* makeHttpApp(info, port)
      yield* server.serve(app)
    })
    // No tracer exports spans anywhere, so a span per request would only cost CPU on every call.
  ).pipe(HttpMiddleware.withTracerDisabledWhen(() => true))

/** Serves the REST API, `/mcp` and the operational endpoints; the bound address is `HttpServer.HttpServer`'s `address`. */
export const HttpServerLive = (
  info: ServerInfo
): Layer.Layer<
  HttpServer.HttpServer,
  ServeError | ConfigInvalid,
  ToolExecutor | ConfigService | Health | MetricsExporter | Events
> => AppLive(info).pipe(Layer.provideMerge(NodeServerLive))
