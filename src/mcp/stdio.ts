import { Effect } from "effect"
import type { Readable, Writable } from "node:stream"
import type { ConfigService } from "../config/ConfigService.js"
import type { Events } from "../events/Events.js"
import type { ToolExecutor } from "../execution/ToolExecutor.js"
import { OPERATOR_SCOPES } from "../identity/Caller.js"
import type { Caller } from "../identity/Caller.js"
import { Startup } from "../startup.js"
import { makeMcpServer, type ServerInfo } from "./McpServer.js"
import type { OpenStdio } from "./stdioOpen.js"
import { LineStdioTransport } from "./stdioTransport.js"

/** A local client launched us: it is the operator, with every scope but approve, free to name any engagement. */
export const stdioCaller: Caller = {
  id: "stdio",
  transport: "stdio",
  scopes: new Set(OPERATOR_SCOPES),
  engagements: "any"
}

/** The stdio operator bound to one engagement (`server.stdio_engagement`, `serve --engagement`), or free when empty. */
export const stdioCallerIn = (engagement: string): Caller => engagement === "" ? stdioCaller : { ...stdioCaller, engagements: [engagement] }

export interface StdioOptions {
  readonly info: ServerInfo
  /** Who the operator is; `stdioCaller` by default. */
  readonly caller?: Caller
  readonly stdin?: Readable
  readonly stdout?: Writable
  /** The connection as opened by `openStdio` (its `initialize` answered early, the rest held); by default one is opened here. */
  readonly opened?: OpenStdio
}

/**
 * Serves MCP over stdin/stdout until stdin ends (the client went away) or the
 * fiber is interrupted (shutdown). stdout carries protocol messages only:
 * logs must go elsewhere. On exit the server closes, which aborts in-flight
 * calls and so kills their processes.
 */
export const runStdio = (options: StdioOptions): Effect.Effect<void, never, ToolExecutor | Events | ConfigService> =>
  Effect.scoped(
    Effect.gen(function*() {
      const stdin = options.stdin ?? process.stdin
      const stdout = options.stdout ?? process.stdout
      const caller = options.caller ?? stdioCaller
      const { opened } = options
      const { server } = yield* makeMcpServer({
        info: options.info,
        callerOf: () => caller,
        sessionCaller: () => caller,
        ...(opened === undefined ? {} : { shell: opened.shell })
      })
      if (opened === undefined) yield* Effect.promise(() => server.connect(new LineStdioTransport(stdin, stdout)))
      else opened.transport.release()
      yield* Effect.flatMap(Startup, (startup) => startup.serving)
      yield* Effect.async<void>((resume) => {
        const done = () => resume(Effect.void)
        stdin.once("end", done)
        stdin.once("close", done)
        server.onclose = done
        if (stdin.readableEnded) done()
        return Effect.sync(() => {
          stdin.off("end", done)
          stdin.off("close", done)
          server.onclose = undefined
        })
      })
    })
  )
