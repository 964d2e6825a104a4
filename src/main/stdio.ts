import { Cause, Effect } from "effect"
import type { ConfigSource, LoadedConfig } from "../config/ConfigLive.js"
import { afterWaitingInput } from "../startup.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { serverInfo } from "./info.js"
import { failureText } from "./run.js"

/**
 * `serve --transport stdio`, loaded when it is asked for: the MCP server and
 * the SDK behind it are a lazily evaluated part of the bundle, so an HTTP
 * server evaluates them only when a client first uses `/mcp`.
 *
 * The configuration is checked before anything else (a bad one still ends the
 * start-up with its message, before any reply). Then stdin/stdout are
 * connected to a server that answers `initialize` and holds every other
 * message while the services are loaded and built, most of a start-up; a turn
 * of the event loop lets it read and answer an `initialize` already sent. A
 * start-up that fails after that answers each request that waited with the
 * failure (an Internal error) before the process reports it and exits, as
 * before.
 */
export const stdioProgram = (source: ConfigSource, loaded: LoadedConfig, custom: ReadonlyArray<ToolSpec<any>>) =>
  Effect.gen(function*() {
    const { openStdio } = yield* Effect.promise(() => import("../mcp/stdioOpen.js"))
    const opened = yield* openStdio(serverInfo)
    yield* afterWaitingInput
    const program = yield* Effect.promise(() => import("./stdioProgram.js"))
    yield* program.stdioProgram(source, loaded, custom, opened).pipe(
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Effect.sync(() => opened.transport.refuse(`the server could not start: ${failureText(cause)}`))
      )
    )
  })
