import { HttpApiBuilder, type HttpApp, HttpMiddleware, HttpServer, HttpServerRequest } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Effect, Either, Layer } from "effect"
import { createServer, type Server } from "node:http"
import type { Socket } from "node:net"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { ConfigInvalid } from "../errors.js"
import type { Events } from "../events/Events.js"
import type { ToolExecutor } from "../execution/ToolExecutor.js"
import type { ServerInfo } from "../mcp/McpServer.js"
import type { Health } from "../observability/Health.js"
import type { MetricsExporter } from "../observability/MetricsExporter.js"
import type { ScanStore } from "../storage/ScanStore.js"
import { checkBindSafety } from "./auth.js"
import { TooManyConnections } from "./errors.js"
import { errorReply } from "./guard.js"
import { ApiLive } from "./HttpApp.js"

/**
 * Counts open connections. One accepted while `max` others are open is not
 * reset (Node's `maxConnections` would drop it unanswered): its request gets
 * 503 with Retry-After and the typed body, then the connection is closed.
 */
const connectionLimit = (node: Server, max: number) => {
  const over = new WeakSet<Socket>()
  let open = 0
  node.on("connection", (socket: Socket) => {
    open += 1
    if (open > max) over.add(socket)
    socket.once("close", () => {
      open -= 1
    })
  })
  const refusal = errorReply(
    new TooManyConnections({ limit: max, message: `The server has ${max} open connections (server.max_connections); retry shortly` })
  )
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
    Effect.flatMap(
      HttpServerRequest.HttpServerRequest,
      (request) => over.has(NodeHttpServerRequest.toIncomingMessage(request).socket) ? Effect.succeed(refusal) : app
    )
}

/**
 * Slow clients (slowloris) are dropped after `headers_timeout`, not Node's
 * default minutes; responses may stream for long. Node refuses a header
 * timeout longer than the request timeout, and checks both on an interval.
 */
const nodeServer = (server: AppConfig["server"]) => {
  const requestTimeout = Math.round(server.request_timeout * 1000)
  const headersTimeout = Math.min(Math.round(server.headers_timeout * 1000), requestTimeout)
  return createServer({
    headersTimeout,
    requestTimeout,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.round(headersTimeout / 4)))
  })
}

/**
 * The listening Node server on `server.host`/`server.port`, serving `ApiLive`.
 * Open responses (SSE, MCP streams) would keep `server.close()` waiting
 * forever, so at shutdown every connection is destroyed first, which
 * interrupts the fibers serving them; then the MCP sessions close.
 */
const ServeLive = (info: ServerInfo) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const config = yield* (yield* ConfigService).get
      const bindSafety = checkBindSafety(config)
      if (Either.isLeft(bindSafety)) return yield* bindSafety.left
      const node = nodeServer(config.server)
      const limit = connectionLimit(node, config.server.max_connections)
      const server = yield* NodeHttpServer.make(() => node, { host: config.server.host, port: config.server.port })
      // Built after the API, so it runs before the API's finalizers (MCP sessions): calls in flight end with their connection.
      const closeConnections = Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(() => node.closeAllConnections())))
      return Layer.merge(HttpApiBuilder.serve(limit), closeConnections).pipe(
        Layer.provide(ApiLive(info)),
        Layer.provideMerge(Layer.succeed(HttpServer.HttpServer, server)),
        Layer.provide(NodeHttpServer.layerContext)
      )
    })
    // No tracer exports spans anywhere, so a span per request would only cost CPU on every call.
  ).pipe(HttpMiddleware.withTracerDisabledWhen(() => true))

/** Serves the REST API, `/mcp` and the operational endpoints; the bound address is `HttpServer.HttpServer`'s `address`. */
export const HttpServerLive = (
  info: ServerInfo
): Layer.Layer<
  HttpServer.HttpServer,
  ServeError | ConfigInvalid,
  ToolExecutor | ConfigService | Health | MetricsExporter | Events | ScanStore
> => ServeLive(info)
