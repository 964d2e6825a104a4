import { Effect } from "effect"
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:net"
import type { ToolSpec } from "../../src/tools/ToolSpec.js"

export const fixture = (path: string): string => readFileSync(new URL(`../fixtures/${path}`, import.meta.url), "utf8")

export interface Output {
  readonly stdout: string
  readonly stderr: string
  readonly code: number | null
}

/** Runs a binary without a shell; a non-zero exit is a result, like the real runner's. */
export const run = (command: string, args: ReadonlyArray<string>): Effect.Effect<Output> =>
  Effect.async<Output>((resume) => {
    const child = execFile(command, [...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (_error, stdout, stderr) => {
      resume(Effect.succeed({ stdout, stderr, code: child.exitCode }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** The argv the executor builds from a spec: fixed arguments, the caller's, then the target's. */
export const specArgv = (
  spec: Pick<ToolSpec, "fixedArgs" | "target">,
  args: ReadonlyArray<string>,
  pinned: string,
  original = pinned
): ReadonlyArray<string> => [
  ...spec.fixedArgs,
  ...args,
  ...spec.target.toArgs(pinned, original)
]

/** Starts a server on 127.0.0.1 with an OS-chosen port, closed with the scope. */
export const listen = <S extends Server>(server: S) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: S; readonly port: number }>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed({ server, port: typeof address === "object" && address !== null ? address.port : 0 }))
      })
    }),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        if ("closeAllConnections" in server && typeof server.closeAllConnections === "function") server.closeAllConnections()
      })
  )

/** A TCP listener that closes each connection; scanners reset connections, which is not an error here. */
export const closingServer = () =>
  createServer((socket) => {
    socket.on("error", () => undefined)
    socket.end()
  })
