import { PlatformLogger } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Effect, HashMap, Layer, Logger, LogLevel, type Scope, Stream } from "effect"
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

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * An audit line that goes to the log (no audit file, or its write failed)
 * arrives as its JSON text annotated `audit`. Logged as it is, logfmt would
 * quote the JSON inside `message="{\"timestamp\":…}"` (and the JSON format
 * would nest it as a string): instead its fields become the entry's own
 * annotations, `message="audit" caller_id=… tool=… argv=…`.
 */
export const auditFieldsAsAnnotations = <Output>(
  logger: Logger.Logger<unknown, Output>,
  /** For logfmt: lists (argv) as their words joined by spaces, which logfmt quotes once. */
  flat = false
): Logger.Logger<unknown, Output> =>
  Logger.mapInputOptions(logger, (options) => {
    if (!HashMap.has(options.annotations, "audit")) return options
    const text = Array.isArray(options.message) ? options.message[0] : options.message
    if (typeof text !== "string" || !text.startsWith("{")) return options
    let fields: unknown
    try {
      fields = JSON.parse(text)
    } catch {
      return options
    }
    if (!isRecord(fields)) return options
    const entries = Object.entries(fields).map(([key, value]) => [key, flat && Array.isArray(value) ? value.join(" ") : value] as const)
    return { ...options, message: "audit", annotations: HashMap.union(options.annotations, HashMap.fromIterable(entries)) }
  })

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
      const json = initial.logging.format === "json"
      const format = auditFieldsAsAnnotations(json ? Logger.jsonLogger : Logger.logfmtLogger, !json)
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
