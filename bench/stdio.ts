import { Effect, type Scope } from "effect"
import { performance } from "node:perf_hooks"
import { managed } from "./children.js"
import { BenchFailed } from "./errors.js"
import { benchTools, cleanEnv, serverScript } from "./servers.js"

/**
 * Our server over stdio with a minimal JSON-RPC client: newline-delimited
 * messages, replies matched by id, so any number of calls can be in flight.
 */

const REPLY_TIMEOUT_MS = 120_000

export interface StdioReply {
  readonly ms: number
  readonly result?: {
    readonly isError?: boolean
    readonly structuredContent?: Record<string, any>
    readonly content?: ReadonlyArray<{ readonly type: string; readonly text?: string }>
  }
  readonly error?: { readonly code: number; readonly message: string }
}

export interface StdioServer {
  readonly pid: number
  readonly request: (method: string, params: unknown) => Effect.Effect<StdioReply, BenchFailed>
  /** A tools/call; a result with isError is a reply like any other. */
  readonly callTool: (name: string, args: unknown) => Effect.Effect<StdioReply, BenchFailed>
}

export const stdioServer = (extraEnv: Readonly<Record<string, string>> = {}): Effect.Effect<StdioServer, BenchFailed, Scope.Scope> =>
  Effect.gen(function*() {
    const env = cleanEnv({ MCP_CUSTOM_TOOLS: benchTools, ...extraEnv })
    const { child, stderr } = yield* managed(process.execPath, [serverScript, "serve", "--transport", "stdio"], {
      env,
      stdio: ["pipe", "pipe", "pipe"]
    })
    const waiting = new Map<number, (reply: StdioReply) => void>()
    const sentAt = new Map<number, number>()
    let buffered = ""
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8")
      let newline = buffered.indexOf("\n")
      while (newline >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf("\n")
        const message = JSON.parse(line) as { id?: number; result?: StdioReply["result"]; error?: StdioReply["error"] }
        const done = message.id === undefined ? undefined : waiting.get(message.id)
        if (done !== undefined) {
          const ms = performance.now() - sentAt.get(message.id!)!
          waiting.delete(message.id!)
          sentAt.delete(message.id!)
          done({
            ms,
            ...(message.result === undefined ? {} : { result: message.result }),
            ...(message.error === undefined ? {} : { error: message.error })
          })
        }
      }
    })
    let nextId = 1
    const request = (method: string, params: unknown) =>
      Effect.async<StdioReply, BenchFailed>((resume) => {
        const id = nextId++
        const timer = setTimeout(() => {
          waiting.delete(id)
          resume(Effect.fail(new BenchFailed({ step: method, message: `no reply within ${REPLY_TIMEOUT_MS} ms: ${stderr()}` })))
        }, REPLY_TIMEOUT_MS)
        waiting.set(id, (reply) => {
          clearTimeout(timer)
          resume(Effect.succeed(reply))
        })
        sentAt.set(id, performance.now())
        child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`)
        return Effect.sync(() => {
          clearTimeout(timer)
          waiting.delete(id)
        })
      })
    const init = yield* request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "bench", version: "1" }
    })
    if (init.error !== undefined) return yield* new BenchFailed({ step: "stdio initialize", message: init.error.message })
    child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`)
    return {
      pid: child.pid!,
      request,
      callTool: (name, args) => request("tools/call", { name, arguments: args })
    }
  })
