import { PlatformLogger } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, Layer, Logger, LogLevel, type Scope, Stream } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"

/** Maps the spec's level names (Python's) onto Effect's. */
export const toLogLevel = (name: AppConfig["logging"]["level"]): LogLevel.LogLevel => {
  switch (name) {
    case "TRACE":
      return LogLevel.Trace
    case "DEBUG":
      return LogLevel.Debug
    case "INFO":
      return LogLevel.Info
    case "WARNING":
    case "WARN":
      return LogLevel.Warning
    case "ERROR":
      return LogLevel.Error
    case "CRITICAL":
    case "FATAL":
      return LogLevel.Fatal
    case "NONE":
      return LogLevel.None
  }
}

const bootstrapConsole = Logger.withConsoleError(Logger.logfmtLogger)

/**
 * Logs go to stderr (and optionally a file), never stdout: in stdio mode
 * stdout carries only MCP protocol messages. The level follows hot reloads;
 * format and file are fixed at start-up.
 */
export const LoggerLive = (initial: AppConfig) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      let level = toLogLevel(initial.logging.level)
      const config = yield* ConfigService
      yield* config.changes.pipe(
        Stream.runForEach((c) =>
          Effect.sync(() => {
            level = toLogLevel(c.logging.level)
          })
        ),
        Effect.forkScoped
      )
      const format = initial.logging.format === "json" ? Logger.jsonLogger : Logger.logfmtLogger
      const enabled = (l: LogLevel.LogLevel) => LogLevel.greaterThanEqual(l, level)
      const console = Logger.filterLogLevel(Logger.withConsoleError(format), enabled)
      const loggers: Effect.Effect<Logger.Logger<unknown, unknown>, PlatformError, Scope.Scope> = initial.logging.file_path === ""
        ? Effect.succeed(console)
        : PlatformLogger.toFile(format, initial.logging.file_path).pipe(
          Effect.map((file) => Logger.zip(console, Logger.filterLogLevel(file, enabled))),
          Effect.provide(NodeFileSystem.layer)
        )
      const logger = yield* loggers
      return Layer.mergeAll(
        Logger.remove(bootstrapConsole),
        Logger.replace(Logger.defaultLogger, logger),
        Logger.minimumLogLevel(LogLevel.All)
      )
    })
  )

/** The logger used before the configuration is known (start-up errors, `validate`); `LoggerLive` takes its place. */
export const BootstrapLogger = Layer.merge(
  Logger.replace(Logger.defaultLogger, bootstrapConsole),
  Logger.minimumLogLevel(LogLevel.Info)
)
