import { isTerminal } from "@modelcontextprotocol/sdk/experimental/tasks"
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js"
import {
  type CallToolRequest,
  CallToolRequestSchema,
  type CallToolResult,
  type CancelTaskRequest,
  CancelTaskRequestSchema,
  type CreateTaskResult,
  ErrorCode,
  type GetTaskResult,
  ListToolsRequestSchema,
  McpError,
  type ProgressToken,
  RELATED_TASK_META_KEY,
  type ServerNotification,
  type ServerRequest,
  type Tool
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, FiberMap, Queue, Runtime, type Scope } from "effect"
import { Events } from "../events/Events.js"
import { type Progress, ToolExecutor, type ToolInfo } from "../execution/ToolExecutor.js"
import { type Caller } from "../identity/Caller.js"
import { BoundedTaskStore, defaultTaskLimits, type TaskLimits } from "./TaskStore.js"
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
  /** Bounds of this server's task store (task-augmented `tools/call`). */
  readonly tasks?: Partial<TaskLimits>
}

/** Disabled tools and tools whose binary is missing are not offered to agents. */
export const isListed = (tool: ToolInfo): boolean => tool.enabled && tool.available

/** Every tool may run as a task, so a long scan need not hold a request open past the client's timeout. */
export const toMcpTool = (tool: ToolInfo): Tool => ({
  name: tool.name,
  title: tool.title,
  description: tool.description,
  inputSchema: tool.inputSchema as Tool["inputSchema"],
  outputSchema: outputSchemaFor(tool.outputSchema) as Tool["outputSchema"],
  annotations: tool.annotations,
  execution: { taskSupport: "optional" }
})

const INSTRUCTIONS =
  "Runs network security tools (nmap first) against allowed lab targets. Each call is validated against the server's target and argument policy; " +
  "a rejected call returns isError with a structured error (_tag, message, rule/token) explaining what to change. " +
  "Long scans can run as tasks (tools/call with a task): poll tasks/get, then fetch the result with tasks/result."

const STATUS_MESSAGE_MAX = 200

/** A task's status line: the first line of the result text, which is the summary or the error. */
export const finalStatusMessage = (result: CallToolResult): string | undefined => {
  const first = result.content[0]
  if (first?.type !== "text") return undefined
  const line = first.text.split("\n", 1)[0] ?? ""
  return line.length <= STATUS_MESSAGE_MAX ? line : `${line.slice(0, STATUS_MESSAGE_MAX - 1)}…`
}

export const progressStatusMessage = (progress: Progress): string =>
  `${progress.progress}/${progress.total}${progress.message === undefined ? "" : `: ${progress.message}`}`

const progressParams = (progressToken: ProgressToken, progress: Progress) => ({
  progressToken,
  progress: progress.progress,
  total: progress.total,
  ...(progress.message === undefined ? {} : { message: progress.message })
})

/** What the request handlers of one MCP server share. */
interface Handlers {
  readonly server: Server
  readonly executor: ToolExecutor["Type"]
  readonly taskStore: BoundedTaskStore
  readonly taskFibers: FiberMap.FiberMap<string>
  readonly callerOf: (extra: HandlerExtra) => Caller
  /** Runs an effect on the server's runtime; an aborted `signal` interrupts it. */
  readonly run: <A>(effect: Effect.Effect<A>, signal?: AbortSignal) => Promise<A>
}

const notify = (h: Handlers, notification: ServerNotification) =>
  Effect.tryPromise(() => h.server.notification(notification)).pipe(Effect.ignore)

const execute = (
  h: Handlers,
  name: string,
  args: Record<string, unknown>,
  caller: Caller,
  onProgress: ((progress: Progress) => Effect.Effect<void>) | undefined
): Effect.Effect<CallToolResult> =>
  h.executor
    .execute(name, args, caller, onProgress ? { onProgress } : {})
    .pipe(Effect.match({ onFailure: errorToolResult, onSuccess: executionToolResult }))

type TaskRequest = {
  readonly method: string
  readonly params: Record<string, unknown> & { readonly task?: { readonly ttl?: number | null } }
}

/**
 * The task outlives its request, so its progress goes out unrelated to
 * the request (over HTTP: on the session's GET stream) with the
 * related-task key, and the latest step is the task's status message.
 */
const startTask = async (
  h: Handlers,
  request: TaskRequest,
  name: string,
  args: Record<string, unknown>,
  extra: HandlerExtra
): Promise<CreateTaskResult> => {
  const { taskStore } = h
  const sessionId = extra.sessionId
  const task = await taskStore.createTask(request.params.task ?? {}, extra.requestId, request, sessionId)
  const taskId = task.taskId
  const progressToken = extra._meta?.progressToken
  const onProgress = (progress: Progress) =>
    Effect.sync(() => taskStore.describe(taskId, sessionId, progressStatusMessage(progress))).pipe(
      Effect.zipRight(
        progressToken === undefined ? Effect.void : notify(h, {
          method: "notifications/progress",
          params: { ...progressParams(progressToken, progress), _meta: { [RELATED_TASK_META_KEY]: { taskId } } }
        })
      )
    )
  const body = execute(h, name, args, h.callerOf(extra), onProgress).pipe(
    Effect.flatMap((result) => {
      const status = result.isError === true ? "failed" : "completed"
      const stored = taskStore.finish(taskId, sessionId, status, result, finalStatusMessage(result))
      return stored ? Effect.promise(() => taskStore.getTask(taskId, sessionId)) : Effect.succeed(null)
    }),
    Effect.flatMap((finished) => finished === null ? Effect.void : notify(h, { method: "notifications/tasks/status", params: finished }))
  )
  await h.run(FiberMap.run(h.taskFibers, taskId, body))
  return {
    task,
    _meta: {
      "io.modelcontextprotocol/model-immediate-response":
        `${name} is running as task ${taskId}; its result will be available through tasks/result when it finishes.`
    }
  }
}

const callTool = (h: Handlers) => (request: CallToolRequest, extra: HandlerExtra) => {
  const name = request.params.name
  const args = request.params.arguments ?? {}
  if (request.params.task !== undefined) return startTask(h, request, name, args, extra)
  const progressToken = request.params._meta?.progressToken
  const onProgress = progressToken === undefined ?
    undefined :
    (progress: Progress) =>
      Effect.tryPromise(() => extra.sendNotification({ method: "notifications/progress", params: progressParams(progressToken, progress) }))
        .pipe(Effect.ignore)
  return h.run(execute(h, name, args, h.callerOf(extra), onProgress), extra.signal)
}

/** Marks the task cancelled first (so its fiber cannot store a result), then waits until the fiber, and so the tool's process group, is gone. */
const cancelTask = (h: Handlers) => async (request: CancelTaskRequest, extra: HandlerExtra): Promise<GetTaskResult> => {
  const { taskId } = request.params
  const task = await h.taskStore.getTask(taskId, extra.sessionId)
  if (task === null) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`)
  if (isTerminal(task.status)) {
    throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${task.status}`)
  }
  await h.taskStore.updateTaskStatus(taskId, "cancelled", "Cancelled by request; the tool's processes were stopped.", extra.sessionId)
  await h.run(FiberMap.remove(h.taskFibers, taskId))
  const cancelled = await h.taskStore.getTask(taskId, extra.sessionId)
  if (cancelled === null) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`)
  return cancelled
}

/** Tells the client when the tool list changed (an operator enabled or disabled a tool), for the server's lifetime. */
const followToolSwitches = (server: Server) =>
  Effect.flatMap(Events, (events) => events.subscribe).pipe(
    Effect.flatMap((subscription) =>
      Queue.take(subscription).pipe(
        Effect.flatMap((event) =>
          event.type === "tool.enabled" || event.type === "tool.disabled"
            ? Effect.tryPromise(() => server.sendToolListChanged()).pipe(Effect.ignore)
            : Effect.void
        ),
        Effect.forever,
        Effect.forkScoped
      )
    )
  )

/**
 * One MCP server (one per stdio connection or HTTP session). Handlers run as
 * fibers on the runtime captured here; an aborted request (client
 * `notifications/cancelled`, session close) interrupts its fiber, which kills
 * the tool's process group.
 *
 * A task-augmented `tools/call` instead forks the execution into this
 * server's scope and answers at once with the task; the SDK serves
 * `tasks/get`, `tasks/result` (blocking until the task ends) and `tasks/list`
 * from the task store, while `tasks/cancel` is ours because it must interrupt
 * the fiber. Tasks live and die with the server: another session never sees
 * them, and closing the session stops them. The server closes with the scope.
 */
export const makeMcpServer = (
  options: McpServerOptions
): Effect.Effect<Server, never, ToolExecutor | Events | Scope.Scope> =>
  Effect.gen(function*() {
    const executor = yield* ToolExecutor
    const runtime = yield* Effect.runtime<never>()
    const clock = yield* Effect.clock
    const taskStore = new BoundedTaskStore({ ...defaultTaskLimits, ...options.tasks }, () => clock.unsafeCurrentTimeMillis())
    const server = new Server(
      { name: options.info.name, version: options.info.version },
      {
        capabilities: {
          tools: { listChanged: true },
          tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } }
        },
        instructions: INSTRUCTIONS,
        taskStore
      }
    )
    const h: Handlers = {
      server,
      executor,
      taskStore,
      taskFibers: yield* FiberMap.make<string>(),
      callerOf: options.callerOf,
      run: (effect, signal) => Runtime.runPromise(runtime)(effect, { signal })
    }
    server.setRequestHandler(ListToolsRequestSchema, () =>
      h.run(executor.list.pipe(Effect.map((tools) => ({ tools: tools.filter(isListed).map(toMcpTool) })))))
    server.setRequestHandler(CallToolRequestSchema, callTool(h))
    server.setRequestHandler(CancelTaskRequestSchema, cancelTask(h))
    yield* followToolSwitches(server)
    yield* Effect.addFinalizer(() =>
      Effect.promise(() => server.close())
    )
    return server
  })
