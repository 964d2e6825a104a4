import { Effect, Layer } from "effect"
import type { ConfigSource, LoadedConfig } from "../config/ConfigLive.js"
import { runStdio, stdioCallerIn } from "../mcp/stdio.js"
import type { OpenStdio } from "../mcp/stdioOpen.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { coreLayer } from "./core.js"
import { serverInfo } from "./info.js"
import { LazyPrometheusPort } from "./lazyMetrics.js"
import { settleMemory } from "./settleMemory.js"
import { drainOnShutdown } from "./Shutdown.js"

/**
 * MCP over stdin/stdout for local clients (Claude Desktop). Ends when the
 * client closes stdin or on SIGTERM/SIGINT; running scans get the grace
 * period, then their process groups are killed.
 */
export const stdioProgram = (
  source: ConfigSource,
  loaded: LoadedConfig,
  custom: ReadonlyArray<ToolSpec<any>>,
  opened: OpenStdio
) =>
  Effect.gen(function*() {
    yield* Effect.logInfo(`${serverInfo.name} ${serverInfo.version} serving MCP on stdio`)
    yield* Effect.fork(settleMemory())
    const reason = yield* Effect.raceFirst(
      runStdio({ info: serverInfo, caller: stdioCallerIn(loaded.config.server.stdio_engagement), opened }).pipe(Effect.as("stdin closed")),
      drainOnShutdown
    )
    yield* Effect.logInfo(`shutting down: ${reason}`)
  }).pipe(Effect.provide(LazyPrometheusPort.pipe(Layer.provideMerge(coreLayer(source, loaded, "stdio", custom)))))
