import { isTerminal } from "@modelcontextprotocol/sdk/experimental/tasks"
import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js"
import {
  type CallToolRequest,
  type CallToolResult,
  type CancelTaskRequest,
  type CreateTaskResult,
  ErrorCode,
  type GetTaskResult,
  McpError,
  type ProgressToken,
  RELATED_TASK_META_KEY,
  type ServerNotification,
  type ServerRequest
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, FiberMap, Option } from "effect"
import type { ApprovalRequired, ExecutionError } from "../errors.js"
import type { ExecuteOptions, Progress, StartedCall, ToolExecutor } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import type { SchedulesService } from "../watch/Schedules.js"
import { finishedMessage, type LogMessage, type SessionLog, startedMessages } from "./logging.js"
import { callScanReport, SCAN_REPORT } from "./reports.js"
import { callScanDiff, SCAN_DIFF } from "./scanDiff.js"
import type { ScanAccess } from "./scans.js"
import { callSchedules, SCHEDULES_TOOL } from "./schedules.js"
import type { BoundedTaskStore } from "./TaskStore.js"
import { errorToolResult, executionToolResult } from "./toolResult.js"

/**
 * `tools/call` (plain and task-augmented) and `tasks/cancel`. A plain call
 * runs as a fiber tied to its request (an aborted request interrupts it,
 * which kills the tool's process group) and reports progress and log
 * messages on the request's own stream. A task-augmented call forks into the
 * session's scope, answers at once with the task and reports on the
 * session's stream with the related-task key; its latest progress is the
 * task's status message.
 */

export type HandlerExtra = RequestHandlerExtra<ServerRequest, ServerNotification>

/** What the call handlers of one session share. */
export interface CallContext {
  readonly server: Server
  readonly executor: ToolExecutor["Type"]
  /** Absent when the server runs without tasks (stateless HTTP). */
  readonly tasks: { readonly store: BoundedTaskStore; readonly fibers: FiberMap.FiberMap<string> } | undefined
  readonly callerOf: (extra: HandlerExtra) => Caller
  readonly log: SessionLog
  /** Called with each call's target, for completions of later prompt arguments. */
  readonly noteTarget: (target: string) => void
  /** The scan store, when it is enabled: task ids are scan ids, and ScanDiff is served. */
  readonly scans: ScanAccess | undefined
  /** Scheduled rescans, when the store is enabled: the Schedules tool is served. */
  readonly schedules: SchedulesService | undefined
  /** Runs an effect on the server's runtime; an aborted `signal` interrupts it. */
  readonly run: <A>(effect: Effect.Effect<A>, signal?: AbortSignal) => Promise<A>
}

type Notify = (notification: ServerNotification) => Effect.Effect<void>

const STATUS_MESSAGE_MAX = 200

const clip = (line: string) => (line.length <= STATUS_MESSAGE_MAX ? line : `${line.slice(0, STATUS_MESSAGE_MAX - 1)}…`)

/** A task's final status line: the first line of the result text, which is the summary or the error. */
export const finalStatusMessage = (result: CallToolResult): string | undefined => {
  const first = result.content[0]
  return first?.type !== "text" ? undefined : clip(first.text.split("\n", 1)[0] ?? "")
}

/** A working task's status line: where the tool is, as the progress message says it. */
export const progressStatusMessage = (progress: Progress): string => clip(progress.message)

const progressParams = (progressToken: ProgressToken, progress: Progress) => ({
  progressToken,
  progress: progress.progress,
  total: progress.total,
  message: progress.message
})

/** Log messages at or above the session's level, through `notify`. */
const logger = (c: CallContext, notify: Notify) => (message: LogMessage) =>
  c.log.enabled(message.level) ? notify({ method: "notifications/message", params: message }) : Effect.void

const isApprovalRequired = (error: ExecutionError): error is ApprovalRequired => error._tag === "ApprovalRequired"

/** A task's status line while its call waits for a second person. */
export const waitingMessage = (required: ApprovalRequired): string =>
  clip(
    `Waiting for approval ${required.approval_id} (engagement ${required.approval.engagement}) until ${required.expires_at}; ` +
      `an approver decides it out of band (POST /approvals/${required.approval_id}/approve)`
  )

const execute = (
  c: CallContext,
  name: string,
  args: Record<string, unknown>,
  caller: Caller,
  notify: Notify,
  onProgress: ExecuteOptions["onProgress"],
  extra: { readonly onApprovalRequired?: (required: ApprovalRequired) => Effect.Effect<void>; readonly scanId?: string } = {}
): Effect.Effect<CallToolResult> => {
  const log = logger(c, notify)
  // Nothing is built for a session that set no level (logging.ts): it hears no log messages.
  const onStarted = (call: StartedCall) =>
    c.log.level() === undefined ? Effect.void : Effect.forEach(startedMessages(call), log, { discard: true })
  if (typeof args["target"] === "string") c.noteTarget(args["target"])
  const options: ExecuteOptions = {
    onStarted,
    ...(onProgress === undefined ? {} : { onProgress }),
    ...(extra.scanId === undefined ? {} : { scanId: extra.scanId })
  }
  const attempt = (input: Record<string, unknown>) => c.executor.execute(name, input, caller, options)
  const { onApprovalRequired } = extra
  // A task waits for the decision and then calls again under the approval; a plain call answers ApprovalRequired at once.
  const run = onApprovalRequired === undefined ? attempt(args) : attempt(args).pipe(
    Effect.catchIf(isApprovalRequired, (required) =>
      onApprovalRequired(required).pipe(
        Effect.zipRight(c.executor.awaitApproval(required.approval_id)),
        Effect.zipRight(attempt({ ...args, approval_id: required.approval_id }))
      ))
  )
  return run.pipe(
    Effect.match({ onFailure: errorToolResult, onSuccess: executionToolResult }),
    Effect.tap((result) => c.log.level() === undefined ? Effect.void : log(finishedMessage(name, result)))
  )
}

const ignoreFailure = (send: () => Promise<void>) => Effect.tryPromise(send).pipe(Effect.ignore)

type TaskRequest = {
  readonly method: string
  readonly params: Record<string, unknown> & { readonly task?: { readonly ttl?: number | null } }
}

const startTask = async (
  c: CallContext,
  tasks: NonNullable<CallContext["tasks"]>,
  request: TaskRequest,
  name: string,
  args: Record<string, unknown>,
  extra: HandlerExtra
): Promise<CreateTaskResult> => {
  const { store } = tasks
  const sessionId = extra.sessionId
  // The task is named after the scan it will record into, so its result can be read from the store once this session is gone.
  const scanId = c.scans === undefined ? undefined : Option.getOrUndefined(await c.run(c.scans.recorder.newId))
  const task = await store.createTask(request.params.task ?? {}, extra.requestId, request, sessionId, scanId)
  const taskId = task.taskId
  const related = { [RELATED_TASK_META_KEY]: { taskId } }
  const notify: Notify = (n) => ignoreFailure(() => c.server.notification({ ...n, params: { ...n.params, _meta: related } } as never))
  const progressToken = extra._meta?.progressToken
  const onProgress = (progress: Progress) =>
    Effect.sync(() => store.describe(taskId, sessionId, progressStatusMessage(progress))).pipe(
      Effect.zipRight(
        progressToken === undefined
          ? Effect.void
          : notify({ method: "notifications/progress", params: progressParams(progressToken, progress) })
      )
    )
  const onApprovalRequired = (required: ApprovalRequired) =>
    Effect.sync(() => store.describe(taskId, sessionId, waitingMessage(required))).pipe(
      Effect.zipRight(Effect.promise(() => store.getTask(taskId, sessionId))),
      Effect.flatMap((waiting) => waiting === null ? Effect.void : notify({ method: "notifications/tasks/status", params: waiting }))
    )
  const body = execute(c, name, args, c.callerOf(extra), notify, onProgress, {
    onApprovalRequired,
    ...(scanId === taskId ? { scanId } : {})
  }).pipe(
    Effect.flatMap((result) => {
      const status = result.isError === true ? "failed" : "completed"
      const stored = store.finish(taskId, sessionId, status, result, finalStatusMessage(result))
      return stored ? Effect.promise(() => store.getTask(taskId, sessionId)) : Effect.succeed(null)
    }),
    Effect.flatMap((finished) => finished === null ? Effect.void : notify({ method: "notifications/tasks/status", params: finished }))
  )
  await c.run(FiberMap.run(tasks.fibers, taskId, body))
  return {
    task,
    _meta: {
      "io.modelcontextprotocol/model-immediate-response":
        `${name} is running as task ${taskId}; its result will be available through tasks/result when it finishes.`
    }
  }
}

/** The server's own tools (not processes), answered at once; undefined for any other name or a disabled store. */
const serverTool = (c: CallContext, name: string): ((args: unknown, caller: Caller) => Effect.Effect<CallToolResult>) | undefined => {
  if (name === SCAN_DIFF && c.scans !== undefined) return (args, caller) => callScanDiff(c.scans!, args, caller)
  if (name === SCAN_REPORT && c.scans !== undefined) return (args, caller) => callScanReport(c.scans!, args, caller)
  if (name === SCHEDULES_TOOL && c.schedules !== undefined) return (args, caller) => callSchedules(c.schedules!, args, caller)
  return undefined
}

export const callTool = (c: CallContext) => (request: CallToolRequest, extra: HandlerExtra) => {
  const name = request.params.name
  const args = request.params.arguments ?? {}
  const own = serverTool(c, name)
  if (own !== undefined) {
    if (request.params.task !== undefined) {
      throw new McpError(ErrorCode.InvalidParams, `${name} answers at once and does not run as a task: call it without a task`)
    }
    return c.run(own(args, c.callerOf(extra)), extra.signal)
  }
  if (request.params.task !== undefined) {
    if (c.tasks === undefined) {
      throw new McpError(ErrorCode.InvalidRequest, "This server runs without sessions, so it has no tasks: call the tool without a task")
    }
    return startTask(c, c.tasks, request, name, args, extra)
  }
  const notify: Notify = (n) => ignoreFailure(() => extra.sendNotification(n))
  const progressToken = request.params._meta?.progressToken
  const onProgress = progressToken === undefined
    ? undefined
    : (progress: Progress) => notify({ method: "notifications/progress", params: progressParams(progressToken, progress) })
  return c.run(execute(c, name, args, c.callerOf(extra), notify, onProgress), extra.signal)
}

/** Marks the task cancelled first (so its fiber cannot store a result), then waits until the fiber, and so the tool's process group, is gone. */
export const cancelTask = (c: CallContext, tasks: NonNullable<CallContext["tasks"]>) =>
async (
  request: CancelTaskRequest,
  extra: HandlerExtra
): Promise<GetTaskResult> => {
  const { taskId } = request.params
  const task = await tasks.store.getTask(taskId, extra.sessionId)
  if (task === null) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}; tasks/list shows this session's tasks`)
  if (isTerminal(task.status)) {
    throw new McpError(ErrorCode.InvalidParams, `Cannot cancel task in terminal status: ${task.status}`)
  }
  await tasks.store.updateTaskStatus(taskId, "cancelled", "Cancelled by request; the tool's processes were stopped.", extra.sessionId)
  await c.run(FiberMap.remove(tasks.fibers, taskId))
  const cancelled = await tasks.store.getTask(taskId, extra.sessionId)
  if (cancelled === null) throw new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`)
  return cancelled
}
