import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type ServerNotification,
  type ServerRequest,
  type Tool
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Queue, Runtime, type Scope } from "effect"
import { type Caller, type Progress, ToolExecutor, type ToolInfo } from "../execution/ToolExecutor.js"
import { Events } from "../observability/Events.js"
import { errorToolResult, executionToolResult, outputSchemaFor } from "./toolResult.js"

export interface ServerInfo {
  readonly name: string
  readonly version: string
}

export type HandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

export interface McpServerOptions {
  readonly info: ServerInfo
  /** Who is calling: fixed for stdio, taken from the request's auth info over HTTP. */
  readonly callerOf: (extra: HandlerExtra) => Caller
}

/** Disabled tools and tools whose binary is missing are not offered to agents. */
export const isListed = (tool: ToolInfo): boolean => tool.enabled && tool.available

export const toMcpTool = (tool: ToolInfo): Tool => ({
  name: tool.name,
  title: tool.title,
  description: tool.description,
  inputSchema: tool.inputSchema as Tool["inputSchema"],
  outputSchema: outputSchemaFor(tool.outputSchema) as Tool["outputSchema"],
  annotations: tool.annotations
})

const INSTRUCTIONS =
  "Runs network security tools (nmap first) against allowed lab targets. Each call is validated against the server's target and argument policy; " +
  "a rejected call returns isError with a structured error (_tag, message, rule/token) explaining what to change."

/**
 * One MCP server (one per stdio connection or HTTP session). Handlers run as
 * fibers on the runtime captured here; an aborted request (client
 * `notifications/cancelled`, session close) interrupts its fiber, which kills
 * the tool's process group. The server closes with the scope.
 */
export const makeMcpServer = (
  options: McpServerOptions
): Effect.Effect<Server, never, ToolExecutor | Events | Scope.Scope> =>
  Effect.gen(function*() {
    const executor = yield* ToolExecutor
    const events = yield* Events
    const runtime = yield* Effect.runtime<never>()
    const run = <A>(effect: Effect.Effect<A>, signal?: AbortSignal) => Runtime.runPromise(runtime)(effect, { signal })

    const server = new Server(
      { name: options.info.name, version: options.info.version },
      { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS }
    )

    server.setRequestHandler(ListToolsRequestSchema, () =>
      run(executor.list.pipe(Effect.map((tools) => ({ tools: tools.filter(isListed).map(toMcpTool) })))))

    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const progressToken = request.params._meta?.progressToken
      const onProgress = progressToken === undefined ? undefined : (progress: Progress) =>
        Effect.tryPromise(() =>
          extra.sendNotification({
            method: "notifications/progress",
            params: {
              progressToken,
              progress: progress.progress,
              total: progress.total,
              ...(progress.message === undefined ? {} : { message: progress.message })
            }
          })
        ).pipe(Effect.ignore)
      const call: Effect.Effect<CallToolResult> = executor
        .execute(request.params.name, request.params.arguments ?? {}, options.callerOf(extra), onProgress ? { onProgress } : {})
        .pipe(Effect.match({ onFailure: errorToolResult, onSuccess: executionToolResult }))
      return run(call, extra.signal)
    })

    const subscription = yield* events.subscribe
    yield* Queue.take(subscription).pipe(
      Effect.flatMap((event) =>
        event.type === "tool.enabled" || event.type === "tool.disabled"
          ? Effect.tryPromise(() => server.sendToolListChanged()).pipe(Effect.ignore)
          : Effect.void
      ),
      Effect.forever,
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() => Effect.promise(() => server.close()))
    return server
  })
