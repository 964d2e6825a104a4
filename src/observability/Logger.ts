import { PlatformLogger } from "@effect/platform"
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import type { PlatformError } from "@effect/platform/Error"
import { Cause, Context, Effect, FiberId, HashMap, Inspectable, Layer, Logger, LogLevel, LogSpan, type Scope, Stream } from "effect"
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

const textOnly = /^[^\s"=]*$/
/** Labels as logfmt writes them (` label=`): a log has few distinct ones, so each is made once. */
const labels = new Map<string, string>()
const labelOf = (label: string): string => {
  let made = labels.get(label)
  if (made === undefined) {
    made = ` ${label.replace(/[\s="]/g, "_")}=`
    if (labels.size < 1024) labels.set(label, made)
  }
  return made
}
const pair = (label: string, value: string) => labelOf(label) + (textOnly.test(value) ? value : JSON.stringify(value))

/**
 * An audit line on its way to the application log (no audit file, or its
 * write failed): its JSON text, marked as such by its type rather than by a
 * log annotation, which would cost a fiber-local update on every line of a flood.
 * `fields`, when given, are the line's fields exactly as `JSON.parse` of the
 * text gives them (their order included): the one who built the line hands
 * them over, so the log does not parse again what was just written.
 */
export class AuditMessage {
  /**
   * The text, or what makes it when first read (`logMessage` in AuditLog.ts).
   * A getter of the class, not one defined on each message: that gave every
   * message a shape of its own, and every reader of messages a megamorphic
   * lookup (server CPU per refused call here, runs alternated: ~83 → ~77 µs).
   */
  #line: string | (() => string)
  constructor(line: string | (() => string), readonly fields?: Readonly<Record<string, unknown>>) {
    this.#line = line
  }
  get line(): string {
    if (typeof this.#line !== "string") this.#line = this.#line()
    return this.#line
  }
  toJSON(): { readonly line: string; readonly fields?: Readonly<Record<string, unknown>> } {
    return { line: this.line, fields: this.fields }
  }
  toString(): string {
    return this.line
  }
}

/** An audit line as a message: its text with no trailing newline. */
const auditMessage = (line: string | AuditMessage): AuditMessage => typeof line === "string" ? new AuditMessage(line.trimEnd()) : line

/**
 * Audit lines logged as one entry: each is still a line of its own in the
 * log, exactly as `logAudit` would write it, but a flood of refusals costs
 * one log entry and one write per batch instead of one per line.
 */
export class AuditBatch {
  constructor(readonly messages: ReadonlyArray<AuditMessage>) {}
  get lines(): ReadonlyArray<string> {
    return this.messages.map((message) => message.line)
  }
  toString(): string {
    return this.lines.join("\n")
  }
}

/** Logs an audit line (JSON text, newline or not, or the message its writer made) at info level. */
export const logAudit = (line: string | AuditMessage): Effect.Effect<void> => Effect.logInfo(auditMessage(line))

/** Logs audit lines (JSON text, newline or not, or the messages their writer made) at info level, one entry for all of them. */
export const logAuditBatch = (lines: ReadonlyArray<string | AuditMessage>): Effect.Effect<void> =>
  lines.length === 0 ? Effect.void : Effect.logInfo(new AuditBatch(lines.map(auditMessage)))

const first = (message: unknown): unknown => Array.isArray(message) ? message[0] : message

/** Whether a logged message is an audit line (or a batch of them). */
export const isAuditMessage = (message: unknown): boolean => {
  const m = first(message)
  return m instanceof AuditMessage || m instanceof AuditBatch
}

/** A batch's entry as one entry per line, for loggers that write one output per entry (JSON, files). */
export const splitAuditBatches = <Output>(logger: Logger.Logger<unknown, Output>): Logger.Logger<unknown, void> =>
  Logger.make((options) => {
    const message = first(options.message)
    if (!(message instanceof AuditBatch)) {
      logger.log(options)
      return
    }
    for (const line of message.messages) logger.log({ ...options, message: line })
  })

/** An audit line's fields, in their order, when the entry is one. */
const auditFields = (options: Logger.Logger.Options<unknown>): Readonly<Record<string, unknown>> | undefined =>
  fieldsOf(Array.isArray(options.message) ? options.message[0] : options.message)

/** An audit message's fields: as its writer handed them over, or parsed from its text. */
const fieldsOf = (message: unknown): Readonly<Record<string, unknown>> | undefined => {
  if (!(message instanceof AuditMessage)) return undefined
  if (message.fields !== undefined) return message.fields
  try {
    const fields: unknown = JSON.parse(message.line)
    return isRecord(fields) ? fields : undefined
  } catch {
    return undefined
  }
}

/**
 * An audit line that goes to the log arrives as an `AuditMessage`. Logged as
 * it is, the JSON format would nest its text as a string (and logfmt would
 * quote the JSON inside `message="{\"timestamp\":…}"`): instead its fields
 * become the entry's own annotations, `"message": "audit", "annotations":
 * {"audit": true, "caller_id": …}` (`logfmtLine` does the same for logfmt).
 */
export const auditFieldsAsAnnotations = <Output>(logger: Logger.Logger<unknown, Output>): Logger.Logger<unknown, Output> =>
  Logger.mapInputOptions(logger, (options) => {
    const fields = auditFields(options)
    if (fields === undefined) return options
    const annotations = HashMap.union(options.annotations, HashMap.fromIterable([["audit", true], ...Object.entries(fields)]))
    return { ...options, message: "audit", annotations }
  })

/**
 * One logfmt line, laid out as Effect's `logfmtLogger` lays it out
 * (timestamp, level, fiber, message, cause, spans, annotations), except that
 * an audit line's fields follow as the entry's own keys, in the line's
 * order, lists as their words joined by spaces (see
 * `auditFieldsAsAnnotations`). Built in one pass: on a flood of refused
 * calls every one of them is such a line.
 */
export const logfmtLine = (options: Logger.Logger.Options<unknown>): string => {
  const message = first(options.message)
  if (!(message instanceof AuditBatch)) return logfmtEntry(options)
  // Every line of a batch is one entry's: what precedes the audit fields is the same text for all of them.
  let head: string | undefined
  return message.messages.map((line) => {
    const audit = fieldsOf(line)
    if (audit === undefined) return logfmtEntry({ ...options, message: line })
    head ??= entryHead(options, AUDIT)
    return head + auditTail(audit)
  }).join("\n")
}

const AUDIT = ["audit"]

const logfmtEntry = (options: Logger.Logger.Options<unknown>): string => {
  const audit = auditFields(options)
  if (audit !== undefined) return entryHead(options, AUDIT) + auditTail(audit)
  return entryHead(options, Array.isArray(options.message) ? options.message : [options.message])
}

/** An entry up to its audit fields: timestamp, level, fiber, messages, cause, spans, annotations. */
const entryHead = (options: Logger.Logger.Options<unknown>, messages: ReadonlyArray<unknown>): string => {
  let out = `timestamp=${options.date.toISOString()}${pair("level", options.logLevel.label)}${
    pair("fiber", FiberId.threadName(options.fiberId))
  }`
  for (const message of messages) out += pair("message", Inspectable.toStringUnknown(message, 0))
  if (!Cause.isEmptyType(options.cause)) out += pair("cause", Cause.pretty(options.cause, { renderErrorCause: true }))
  const now = options.date.getTime()
  for (const span of options.spans) out += ` ${LogSpan.render(now)(span)}`
  for (const [label, value] of options.annotations) out += pair(label, Inspectable.toStringUnknown(value, 0))
  return out
}

const auditTail = (audit: Readonly<Record<string, unknown>>): string => {
  let out = " audit=true"
  for (const key in audit) {
    const value = audit[key]
    // null and booleans need no quoting: the most common fields of a refusal's line.
    out += value === null || typeof value === "boolean" ? labelOf(key) + String(value) : pair(key, fieldText(value))
  }
  return out
}

/** A field's value as `Inspectable.toStringUnknown` writes it (a string as it is, null as JSON's `null`), lists as their words. */
const fieldText = (value: unknown): string => {
  if (typeof value === "string") return value
  if (value === null) return "null"
  // What `toStringUnknown` gives them, without its try block.
  if (typeof value === "number" || typeof value === "boolean") return String(value)
  return Array.isArray(value) ? value.join(" ") : Inspectable.toStringUnknown(value, 0)
}

/** Straight to stderr: `console.error` would format its argument and add and remove an error listener on every line. */
const toStderr = <Message>(logger: Logger.Logger<Message, string>): Logger.Logger<Message, void> =>
  Logger.map(logger, (line) => {
    process.stderr.write(`${line}\n`)
  })

/** Sets the level the logger of `LoggerLive` lets through. */
export class LogLevelSetting extends Context.Tag("security-mcp/LogLevelSetting")<
  LogLevelSetting,
  { readonly set: (level: LogLevel.LogLevel) => void }
>() {}

/**
 * Logs go to stderr (and optionally a file), never stdout: in stdio mode
 * stdout carries only MCP protocol messages. Format and file are fixed at
 * start-up; the level follows hot reloads (`LogLevelFollowsConfig`).
 *
 * It needs no other service, so it is built before every other one: a
 * fiber keeps the loggers it was forked with, and one forked while this
 * logger was not yet in place (the audit writer, the config watcher) would
 * log with the start-up logger for good — neither in the configured format
 * nor in the log file.
 */
export const LoggerLive = (initial: AppConfig) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      let level = toLogLevel(initial.logging.level)
      const setting = Layer.succeed(LogLevelSetting, {
        set: (next) => {
          level = next
        }
      })
      const json = initial.logging.format === "json"
      const format = json ? auditFieldsAsAnnotations(Logger.jsonLogger) : Logger.make(logfmtLine)
      const enabled = (l: LogLevel.LogLevel) => LogLevel.greaterThanEqual(l, level)
      const console = Logger.filterLogLevel(json ? splitAuditBatches(Logger.withConsoleError(format)) : toStderr(format), enabled)
      const loggers: Effect.Effect<Logger.Logger<unknown, unknown>, PlatformError, Scope.Scope> = initial.logging.file_path === ""
        ? Effect.succeed(console)
        : PlatformLogger.toFile(format, initial.logging.file_path).pipe(
          Effect.map((file) => Logger.zip(console, Logger.filterLogLevel(json ? splitAuditBatches(file) : file, enabled))),
          Effect.provide(NodeFileSystem.layer)
        )
      const logger = yield* loggers
      return Layer.mergeAll(
        Logger.remove(bootstrapConsole),
        Logger.replace(Logger.defaultLogger, logger),
        Logger.minimumLogLevel(LogLevel.All),
        setting
      )
    })
  )

/** Keeps the level of `LoggerLive` at the configuration's, through hot reloads. */
export const LogLevelFollowsConfig = Layer.scopedDiscard(
  Effect.gen(function*() {
    const { set } = yield* LogLevelSetting
    const config = yield* ConfigService
    yield* config.changes.pipe(
      Stream.runForEach((c) => Effect.sync(() => set(toLogLevel(c.logging.level)))),
      Effect.forkScoped
    )
  })
)

/** The logger used before the configuration is known (start-up errors, `validate`); `LoggerLive` takes its place. */
export const BootstrapLogger = Layer.merge(
  Logger.replace(Logger.defaultLogger, bootstrapConsole),
  Logger.minimumLogLevel(LogLevel.Info)
)
