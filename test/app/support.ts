import type { CallToolResult, ClientCapabilities } from "@modelcontextprotocol/sdk/types.js"
import { Effect, type Scope } from "effect"
import { createServer, type Server, type Socket } from "node:net"
import { APP_MIME_TYPE, APPS_EXTENSION } from "../../src/mcp/mcpApp.js"
import type { StdioServer } from "../support/server.js"

/** What an MCP Apps host (Claude Desktop, VS Code) advertises in `initialize`. */
export const appsCapabilities: ClientCapabilities = { extensions: { [APPS_EXTENSION]: { mimeTypes: [APP_MIME_TYPE] } } }

/**
 * A TCP listener on 127.0.0.1 (`port`, or a free one), closed with the
 * scope. It ends each connection gracefully, so nmap reports the port open
 * without a stderr line per reset.
 */
export const loopbackListener = (port = 0): Effect.Effect<number, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Server; readonly sockets: Set<Socket>; readonly port: number }>((resume) => {
      const sockets = new Set<Socket>()
      const server = createServer((socket) => {
        sockets.add(socket)
        socket.on("error", () => undefined)
        socket.on("close", () => sockets.delete(socket))
        socket.end()
      })
      server.listen(port, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed({ server, sockets, port: typeof address === "object" && address !== null ? address.port : 0 }))
      })
    }),
    ({ server, sockets }) =>
      Effect.async<void>((resume) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resume(Effect.void))
      })
  ).pipe(Effect.map(({ port }) => port))

/** A loopback port nothing listens on now (bound, then released). */
export const freePort: Effect.Effect<number> = Effect.scoped(loopbackListener())

/** A real NmapTool call of 127.0.0.1 (TCP connect scan of `ports`; the server always adds `-n`). */
export const scanLoopback = (server: StdioServer, ports: ReadonlyArray<number>) =>
  Effect.promise(() =>
    server.client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "-p", ports.join(",")] } })
  ) as Effect.Effect<CallToolResult>

/** The open ports of a NmapTool result's report. */
export const openPortsOf = (result: CallToolResult): ReadonlyArray<number> => {
  const run =
    (result.structuredContent as { result: { hosts: ReadonlyArray<{ ports: ReadonlyArray<{ portid: number; state: string }> }> } })
      .result
  return run.hosts.flatMap((h) => h.ports.filter((p) => p.state === "open").map((p) => p.portid))
}
