import { HttpServer } from "@effect/platform"
import { Effect, Layer } from "effect"
import type { ConfigSource, LoadedConfig } from "../config/ConfigLive.js"
import { HttpServerLive } from "../http/HttpServerLive.js"
import { Startup } from "../startup.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { coreLayer } from "./core.js"
import { serverInfo } from "./info.js"
import { LazyPrometheusPort } from "./lazyMetrics.js"
import { settleMemory } from "./settleMemory.js"
import { drainOnShutdown } from "./Shutdown.js"

/**
 * The REST API, MCP Streamable HTTP at /mcp and the operational endpoints.
 * On SIGTERM/SIGINT new executions are refused, running ones get the grace
 * period, then the server closes and leftover process groups are killed.
 */
export const httpProgram = (source: ConfigSource, loaded: LoadedConfig, custom: ReadonlyArray<ToolSpec<any>>) =>
  Effect.gen(function*() {
    const server = yield* HttpServer.HttpServer
    const address = server.address
    const where = address._tag === "TcpAddress" ? `http://${address.hostname}:${address.port}` : address.path
    yield* Effect.logInfo(`${serverInfo.name} ${serverInfo.version} listening on ${where}`).pipe(
      Effect.annotateLogs({ mcp: `${where}/mcp`, health: `${where}/health` })
    )
    yield* Effect.flatMap(Startup, (startup) => startup.serving)
    yield* Effect.fork(settleMemory())
    yield* drainOnShutdown
  }).pipe(
    Effect.provide(
      Layer.mergeAll(HttpServerLive(serverInfo), LazyPrometheusPort).pipe(Layer.provideMerge(coreLayer(source, loaded, "http", custom)))
    )
  )
