import { HttpServer } from "@effect/platform"
import { Duration, Effect, Layer } from "effect"
import type { ConfigSource } from "../config/ConfigLive.js"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { ExecutionGate } from "../execution/ExecutionGate.js"
import { HttpServerLive } from "../http/HttpServerLive.js"
import { PrometheusPortLive } from "../observability/PrometheusPort.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { coreLayer } from "./core.js"
import { serverInfo } from "./info.js"
import { shutdownSignal } from "./run.js"

/**
 * The REST API, MCP Streamable HTTP at /mcp and the operational endpoints.
 * On SIGTERM/SIGINT new executions are refused, running ones get the grace
 * period, then the server closes and leftover process groups are killed.
 */
export const httpProgram = (source: ConfigSource, initial: AppConfig, custom: ReadonlyArray<ToolSpec<any>>) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const gate = yield* ExecutionGate
    const config = yield* ConfigService
    const address = server.address
    const where = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : address.path
    yield* Effect.logInfo(`${serverInfo.name} ${serverInfo.version} listening on ${where}`).pipe(
      Effect.annotateLogs({ mcp: `${where}/mcp`, health: `${where}/health` })
    )
    const signal = yield* shutdownSignal
    yield* Effect.logInfo(`${signal}: draining`)
    const left = yield* Effect.flatMap(config.get, (c) => gate.drain(Duration.seconds(c.server.shutdown_grace_period)))
    if (left > 0) yield* Effect.logWarning(`killing ${left} running executions`)
  }).pipe(
    Effect.provide(
      Layer.mergeAll(HttpServerLive(serverInfo), PrometheusPortLive).pipe(Layer.provideMerge(coreLayer(source, initial, "http", custom)))
    )
  )
