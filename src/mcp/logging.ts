import type { CallToolResult, LoggingLevel, LoggingMessageNotification } from "@modelcontextprotocol/sdk/types.js"
import { LoggingLevelSchema } from "@modelcontextprotocol/sdk/types.js"
import type { StartedCall } from "../execution/ToolExecutor.js"

/**
 * MCP logging: `logging/setLevel` sets this session's level, and a call's
 * lifecycle — started (with the exact command line), the server's notes
 * (rewrites, name resolution), intrusive warnings, how it ended — goes to the
 * client as `notifications/message`, each only when its level is at or above
 * the session's. Until the client sets a level the session sends none: the
 * spec leaves what to send before `logging/setLevel` to the server (and its
 * next revision sends nothing to a client that did not opt in), and a client
 * that never asked for logs would only pay two messages per call for them.
 */

const LEVELS: ReadonlyArray<LoggingLevel> = LoggingLevelSchema.options

export const LOGGER = "security-mcp-server"

export interface SessionLog {
  /** The level the client set; undefined until it sets one (nothing is sent then). */
  readonly level: () => LoggingLevel | undefined
  readonly setLevel: (level: LoggingLevel) => void
  readonly enabled: (level: LoggingLevel) => boolean
}

export const makeSessionLog = (initial?: LoggingLevel): SessionLog => {
  let current = initial
  let lowest = current === undefined ? LEVELS.length : LEVELS.indexOf(current)
  return {
    level: () => current,
    setLevel: (level) => {
      current = level
      lowest = LEVELS.indexOf(level)
    },
    enabled: (level) => LEVELS.indexOf(level) >= lowest
  }
}

export type LogMessage = LoggingMessageNotification["params"]

const message = (level: LoggingLevel, data: string): LogMessage => ({ level, logger: LOGGER, data })

/** What a client hears when its call passed every check and is about to run. */
export const startedMessages = (call: StartedCall): ReadonlyArray<LogMessage> => [
  message(
    "info",
    `${call.tool} started on ${call.target} (correlation_id ${call.correlationId}${
      call.scanId === null ? "" : `, stored as scan://${call.scanId}: subscribe to follow it`
    }): ${call.argv.join(" ")}`
  ),
  ...(call.intrusive
    ? [message("warning", `${call.tool} on ${call.target} is an intrusive operation; it is audited (correlation_id ${call.correlationId})`)]
    : []),
  ...call.notes.map((note) => message("notice", `${call.tool}: ${note}`))
]

const firstLine = (result: CallToolResult) => {
  const first = result.content[0]
  return first?.type === "text" ? first.text.split("\n", 1)[0] ?? "" : ""
}

/** How a call ended, as one message: info when it succeeded, a warning with the reason otherwise. */
export const finishedMessage = (tool: string, result: CallToolResult): LogMessage =>
  result.isError === true
    ? message("warning", `${tool} did not succeed: ${firstLine(result)}`)
    : message("info", `${tool} finished: ${firstLine(result)}`)
