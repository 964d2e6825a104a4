import { Effect } from "effect"
import type { Readable, Writable } from "node:stream"
import { makeServerShell, type McpServerShell, type ServerInfo } from "./McpServerShell.js"
import { LineStdioTransport } from "./stdioTransport.js"

/** A stdio connection whose server can answer `initialize` and holds every other message (see `LineStdioTransport.hold`). */
export interface OpenStdio {
  readonly shell: McpServerShell
  readonly transport: LineStdioTransport
}

/**
 * Connects stdin/stdout to a server shell before the services behind it are built, which takes most of a
 * start-up: a client's `initialize` is answered meanwhile, and `runStdio` hands the server what else it sent
 * once the handlers are there. Light on purpose: it loads the SDK's server and nothing of ours beyond it.
 */
export const openStdio = (info: ServerInfo, stdin: Readable = process.stdin, stdout: Writable = process.stdout): Effect.Effect<OpenStdio> =>
  Effect.gen(function*() {
    const shell = yield* makeServerShell(info, undefined)
    const transport = new LineStdioTransport(stdin, stdout)
    transport.hold()
    yield* Effect.promise(() => shell.server.connect(transport))
    return { shell, transport }
  })
