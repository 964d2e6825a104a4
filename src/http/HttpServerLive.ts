import { HttpApiBuilder, type HttpApp, HttpMiddleware, HttpRouter, HttpServer, HttpServerRequest } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Effect, Either, Layer } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { ConfigInvalid } from "../errors.js"
import type { Events } from "../events/Events.js"
import { ExecutionGate } from "../execution/ExecutionGate.js"
import type { ToolExecutor } from "../execution/ToolExecutor.js"
import type { ServerInfo } from "../mcp/McpServer.js"
import type { AuditLog } from "../observability/AuditLog.js"
import type { Health } from "../observability/Health.js"
import type { MetricsExporter } from "../observability/MetricsExporter.js"
import { formatAddress, formatNetwork, network, parseAddress } from "../policy/ip.js"
import type { Approvals } from "../storage/Approvals.js"
import type { ScanStore } from "../storage/ScanStore.js"
import type { ScheduleStore } from "../storage/ScheduleStore.js"
import type { Schedules } from "../watch/Schedules.js"
import type { Webhooks } from "../watch/Webhooks.js"
import { checkBindSafety } from "./auth.js"
import { TooManyConnections } from "./errors.js"
import { makeFastLane } from "./fastLane.js"
import { errorReply, routerConfig } from "./guard.js"
import { ApiLive } from "./HttpApp.js"
import { makeNodeLane, type NodeHandler } from "./nodeLane.js"

/**
 * Whose connection it is, for the per-address cap: the address, an
 * IPv4-mapped one as IPv4, and an IPv6 client by its /64 (one host usually
 * holds a whole /64, so single addresses would be no limit).
 */
export const addressKey = (remote: string | undefined): string => {
  const address = remote === undefined ? undefined : parseAddress(remote)
  if (address === undefined) return remote ?? "unknown"
  if (address.family === 4) return formatAddress(address)
  if (address.value >> 32n === 0xffffn) return formatAddress({ family: 4, value: address.value & 0xffffffffn })
  return formatNetwork(network(6, address.value, 64))
}

/** How long a refused connection may take to send the request its 503 answers; one that sends none is dropped then. */
const REFUSED_IDLE_MS = 2_000

/**
 * Counts the connections being served, in all and per source address. One
 * accepted while `max` are served, or while its address has `perAddress`
 * served, is not reset (Node's `maxConnections` would drop it unanswered):
 * its request gets 503 with Retry-After and the typed body, then the
 * connection is closed. Refused connections count towards neither limit and
 * are dropped if they send nothing within `REFUSED_IDLE_MS`, so one
 * address's connections, idle ones included, can never fill the server's.
 */
const connectionLimit = (node: Server, max: number, perAddress: number) => {
  const over = new WeakMap<Socket, TooManyConnections>()
  const byAddress = new Map<string, number>()
  let open = 0
  const serverFull = new TooManyConnections({
    limit: max,
    message: `The server has ${max} open connections (server.max_connections); retry shortly`
  })
  const addressFull = (key: string) =>
    new TooManyConnections({
      limit: perAddress,
      message: `${key} has ${perAddress} open connections to this server (server.max_connections_per_address); close one or retry shortly`
    })
  node.on("connection", (socket: Socket) => {
    const key = addressKey(socket.remoteAddress)
    const mine = byAddress.get(key) ?? 0
    const refusal = open >= max ? serverFull : mine >= perAddress ? addressFull(key) : undefined
    if (refusal !== undefined) {
      over.set(socket, refusal)
      socket.setTimeout(REFUSED_IDLE_MS, () => socket.destroy())
      return
    }
    open += 1
    byAddress.set(key, mine + 1)
    socket.once("close", () => {
      open -= 1
      const left = (byAddress.get(key) ?? 1) - 1
      if (left === 0) byAddress.delete(key)
      else byAddress.set(key, left)
    })
  })
  return {
    /** Whether the connection's requests are answered with its 503. */
    refused: (socket: Socket) => over.has(socket),
    middleware: <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const refusal = over.get(NodeHttpServerRequest.toIncomingMessage(request).socket)
        return refusal === undefined ? app : Effect.succeed(errorReply(refusal))
      })
  }
}

/**
 * The platform's HTTP server over `node`, with the Node lane (nodeLane.ts) in
 * front of its request handler: the platform listens and closes, and serves
 * whatever the lane hands on. No upgrade handler: no route upgrades, so a
 * request asking to is served like any other.
 */
const withNodeLane = (
  node: Server,
  platform: HttpServer.HttpServer,
  lane: (next: NodeHandler) => NodeHandler
): HttpServer.HttpServer =>
  HttpServer.make({
    address: platform.address,
    serve: (app, middleware) =>
      Effect.flatMap(handlerOf(app, middleware), (handler) => {
        const listener = lane(handler)
        node.on("request", listener)
        return Effect.addFinalizer(() => Effect.sync(() => node.off("request", listener)))
      })
  })

/** The platform's Node handler of `app` (the one its own server installs), with the middleware when there is one. */
const handlerOf = (app: HttpApp.Default<unknown>, middleware: HttpMiddleware.HttpMiddleware | undefined) =>
  middleware === undefined ? NodeHttpServer.makeHandler(app) : NodeHttpServer.makeHandler(app, middleware)

/** The event streams (`/events`, MCP's standalone GET stream) are open-ended: nothing to wait for at close. */
const openEnded = (request: IncomingMessage) =>
  request.method === "GET" && (request.url === "/events" || request.url?.startsWith("/mcp") === true)

/** How many responses are being written now, open-ended streams aside. */
const inProgress = (node: Server) => {
  const responses = new Map<ServerResponse, IncomingMessage>()
  node.on("request", (request: IncomingMessage, response: ServerResponse) => {
    responses.set(response, request)
    response.once("close", () => responses.delete(response))
  })
  return () => {
    let n = 0
    for (const request of responses.values()) if (!openEnded(request)) n += 1
    return n
  }
}

/**
 * At shutdown: no new connections, then, after a drain, up to `graceMs` for
 * responses still being written (its last answers, e.g. the 503 of a run
 * killed at the end of the grace period) before every connection is
 * destroyed, which interrupts the fibers of what is left (open streams). Timed by the event
 * loop, not `Clock`: this is the socket edge, and a test clock must not
 * hold a closing server open.
 */
const closeGracefully = (node: Server, writing: () => number, graceMs: Effect.Effect<number>) =>
  Effect.flatMap(graceMs, (graceMs) =>
    Effect.promise(() =>
      new Promise<void>((resolve) => {
        node.close()
        node.closeIdleConnections()
        const deadline = Date.now() + graceMs
        const check = () => {
          if (writing() > 0 && Date.now() < deadline) return void setTimeout(check, 10)
          node.closeAllConnections()
          resolve()
        }
        check()
      })
    ))

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
      const limit = connectionLimit(node, config.server.max_connections, config.server.max_connections_per_address)
      const writing = inProgress(node)
      const gate = yield* ExecutionGate
      const graceMs = Effect.map(gate.draining, (drained) => (drained ? 5_000 : 0))
      const platform = yield* NodeHttpServer.make(() => node, { host: config.server.host, port: config.server.port })
      const port = platform.address._tag === "TcpAddress" ? platform.address.port : 0
      const fast = yield* makeFastLane(port)
      const server = withNodeLane(node, platform, yield* makeNodeLane(port, limit.refused))
      // Built after the API, so it runs before the API's finalizers (MCP sessions): calls in flight end with their connection.
      const closeConnections = Layer.scopedDiscard(Effect.addFinalizer(() => closeGracefully(node, writing, graceMs)))
      return Layer.merge(HttpApiBuilder.serve((app) => limit.middleware(fast(app))), closeConnections).pipe(
        Layer.provide(ApiLive(info)),
        Layer.provide(HttpRouter.setRouterConfig(routerConfig)),
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
  | ToolExecutor
  | ConfigService
  | Health
  | MetricsExporter
  | Events
  | Approvals
  | ExecutionGate
  | ScanStore
  | Schedules
  | ScheduleStore
  | Webhooks
  | AuditLog
> => ServeLive(info)
