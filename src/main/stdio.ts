import { Duration, Effect, Layer } from "effect"
import type { ConfigSource } from "../config/ConfigLive.js"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { ExecutionGate } from "../execution/ExecutionGate.js"
import { runStdio } from "../mcp/stdio.js"
import { PrometheusPortLive } from "../observability/PrometheusPort.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { coreLayer } from "./core.js"
import { serverInfo } from "./info.js"
import { shutdownSignal } from "./run.js"

/**
 * MCP over stdin/stdout for local clients (Claude Desktop). Ends when the
 * client closes stdin or on SIGTERM/SIGINT; running scans get the grace
 * period, then their process groups are killed.
 */
export const stdioProgram = (source: ConfigSource, initial: AppConfig, custom: ReadonlyArray<ToolSpec<any>>) =>
  Effect.gen(function*() {
    const gate = yield* ExecutionGate
    const config = yield* ConfigService
    yield* Effect.logInfo(`${serverInfo.name} ${serverInfo.version} serving MCP on stdio`)
    const reason = yield* Effect.raceFirst(
      runStdio({ info: serverInfo }).pipe(Effect.as("stdin closed")),
      shutdownSignal.pipe(
        Effect.tap((signal) => Effect.logInfo(`${signal}: draining`)),
        Effect.zipLeft(
          Effect.flatMap(config.get, (c) => gate.drain(Duration.seconds(c.server.shutdown_grace_period))).pipe(
            Effect.tap((left) => left > 0 ? Effect.logWarning(`killing ${left} running executions`) : Effect.void)
          )
        )
      )
    )
    yield* Effect.logInfo(`shutting down: ${reason}`)
  }).pipe(Effect.provide(PrometheusPortLive.pipe(Layer.provideMerge(coreLayer(source, initial, "stdio", custom)))))
