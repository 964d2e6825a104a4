import { type CreateTaskOptions, isTerminal, type TaskStore } from "@modelcontextprotocol/sdk/experimental/tasks"
import { ErrorCode, McpError, type Request, type RequestId, type Result, type Task } from "@modelcontextprotocol/sdk/types.js"
import { randomUUID } from "node:crypto"

export interface TaskLimits {
  /** Tasks still working; a task-augmented call beyond this is refused. */
  readonly maxRunning: number
  /** Tasks kept in all, working and finished; beyond this the finished one closest to expiry is dropped. */
  readonly maxRetained: number
  /** Bytes of finished results kept (as JSON); beyond this the finished ones closest to expiry are dropped. */
  readonly maxRetainedBytes: number
  /** Used when the requestor asks for no ttl or an unlimited one. */
  readonly defaultTtlMs: number
  readonly maxTtlMs: number
  readonly pollIntervalMs: number
}

export const defaultTaskLimits: TaskLimits = {
  maxRunning: 16,
  maxRetained: 100,
  maxRetainedBytes: 32 * 1024 * 1024,
  defaultTtlMs: 15 * 60_000,
  maxTtlMs: 60 * 60_000,
  pollIntervalMs: 2_000
}

const PAGE_SIZE = 50

interface Entry {
  task: Task
  result: Result | undefined
  /** Size of `result` as JSON: results carry tool output, up to the output caps each. */
  bytes: number
  readonly sessionId: string | undefined
  /** Null while working: a running scan is bounded by its tool timeout, not by the ttl. */
  expiresAt: number | null
}

export type FinalStatus = "completed" | "failed"

/**
 * Where tasks this store no longer holds are found: their session closed, or
 * the server restarted. A task's id is the id of its stored scan, so its
 * status and result are read back from the scan store.
 */
export interface DurableTasks {
  /** The task and, once it ended, its result; undefined when there is no such task for this session's caller. */
  readonly get: (taskId: string) => Promise<{ readonly task: Task; readonly result?: Result } | undefined>
}

/** The ttl a task gets: the requested one within bounds, the default when none (or unlimited) is asked for. */
export const effectiveTtl = (requested: number | null | undefined, limits: TaskLimits): number =>
  requested === undefined || requested === null
    ? Math.min(limits.defaultTtlMs, limits.maxTtlMs)
    : Math.min(Math.max(0, requested), limits.maxTtlMs)

const notFound = (taskId: string) => new McpError(ErrorCode.InvalidParams, `Task not found: ${taskId}`)

/**
 * The task store of one MCP server (one stdio connection or HTTP session), so
 * a task is only ever visible to the session that created it; the session id
 * is checked as well, as the SDK's `TaskStore` contract asks. Memory stays
 * bounded: working tasks are capped, finished ones expire `ttl` after they
 * finished (later than the spec's "ttl from creation", which it allows, so a
 * scan that outlives its ttl still leaves a result to fetch) and the oldest
 * finished task makes room when the store is full (by count or by the bytes
 * of its results). Expiry is swept on access,
 * so the store holds no timers.
 */
export class BoundedTaskStore implements TaskStore {
  private readonly entries = new Map<string, Entry>()

  /** `now` reads the wall clock in milliseconds (the server passes its `Clock`, so `TestClock` drives expiry). */
  constructor(
    private readonly limits: TaskLimits,
    private readonly now: () => number,
    private readonly durable?: DurableTasks
  ) {}

  private sweep(): void {
    const now = this.now()
    for (const [taskId, entry] of this.entries) {
      if (entry.expiresAt !== null && entry.expiresAt <= now) this.entries.delete(taskId)
    }
  }

  private lookup(taskId: string, sessionId: string | undefined): Entry | undefined {
    this.sweep()
    const entry = this.entries.get(taskId)
    return entry !== undefined && entry.sessionId === sessionId ? entry : undefined
  }

  private touch(entry: Entry, changes: Partial<Task>): void {
    const now = this.now()
    entry.task = { ...entry.task, ...changes, lastUpdatedAt: new Date(now).toISOString() }
    if (isTerminal(entry.task.status)) entry.expiresAt = now + (entry.task.ttl ?? this.limits.maxTtlMs)
  }

  /** Drops the finished task closest to expiry and returns the bytes freed; undefined when every retained task is still working. */
  private evictSoonestExpiring(): number | undefined {
    let oldest: [string, Entry] | undefined
    for (const [taskId, entry] of this.entries) {
      if (entry.expiresAt !== null && (oldest === undefined || entry.expiresAt < oldest[1].expiresAt!)) oldest = [taskId, entry]
    }
    if (oldest === undefined) return undefined
    this.entries.delete(oldest[0])
    return oldest[1].bytes
  }

  private retainedBytes(): number {
    let bytes = 0
    for (const entry of this.entries.values()) bytes += entry.bytes
    return bytes
  }

  get running(): number {
    let count = 0
    for (const entry of this.entries.values()) if (!isTerminal(entry.task.status)) count++
    return count
  }

  /** `taskId`, when given, is the id the task gets (the id of the scan it records into). */
  async createTask(
    params: CreateTaskOptions,
    _requestId: RequestId,
    _request: Request,
    sessionId?: string,
    taskId?: string
  ): Promise<Task> {
    this.sweep()
    if (this.running >= this.limits.maxRunning) {
      throw new McpError(
        ErrorCode.InvalidRequest,
        `Too many running tasks (${this.limits.maxRunning}) in this session: wait for one to finish or cancel one with tasks/cancel`
      )
    }
    while (this.entries.size >= this.limits.maxRetained) {
      if (this.evictSoonestExpiring() === undefined) break
    }
    const createdAt = new Date(this.now()).toISOString()
    const task: Task = {
      taskId: taskId !== undefined && !this.entries.has(taskId) ? taskId : randomUUID(),
      status: "working",
      ttl: effectiveTtl(params.ttl, this.limits),
      createdAt,
      lastUpdatedAt: createdAt,
      pollInterval: this.limits.pollIntervalMs
    }
    this.entries.set(task.taskId, { task, result: undefined, bytes: 0, sessionId, expiresAt: null })
    return { ...task }
  }

  async getTask(taskId: string, sessionId?: string): Promise<Task | null> {
    const entry = this.lookup(taskId, sessionId)
    if (entry !== undefined) return { ...entry.task }
    return (await this.durable?.get(taskId))?.task ?? null
  }

  async storeTaskResult(taskId: string, status: FinalStatus, result: Result, sessionId?: string): Promise<void> {
    if (!this.finish(taskId, sessionId, status, result)) {
      throw new McpError(ErrorCode.InvalidParams, `Task ${taskId} is not running`)
    }
  }

  async getTaskResult(taskId: string, sessionId?: string): Promise<Result> {
    const entry = this.lookup(taskId, sessionId) ?? (await this.durable?.get(taskId))
    if (entry === undefined) throw notFound(taskId)
    if (entry.task.status === "cancelled") throw new McpError(ErrorCode.InvalidRequest, `Task ${taskId} was cancelled; it has no result`)
    if (entry.result === undefined) throw new McpError(ErrorCode.InvalidRequest, `Task ${taskId} has not finished`)
    return entry.result
  }

  async updateTaskStatus(taskId: string, status: Task["status"], statusMessage?: string, sessionId?: string): Promise<void> {
    const entry = this.lookup(taskId, sessionId)
    if (entry === undefined) throw notFound(taskId)
    if (isTerminal(entry.task.status)) {
      throw new McpError(ErrorCode.InvalidParams, `Task ${taskId} is already ${entry.task.status}`)
    }
    this.touch(entry, statusMessage === undefined ? { status } : { status, statusMessage })
  }

  async listTasks(cursor?: string, sessionId?: string): Promise<{ tasks: Array<Task>; nextCursor?: string }> {
    this.sweep()
    const visible = [...this.entries.entries()].filter(([, entry]) => entry.sessionId === sessionId)
    const start = cursor === undefined ? 0 : visible.findIndex(([taskId]) => taskId === cursor) + 1
    if (start === 0 && cursor !== undefined) throw new McpError(ErrorCode.InvalidParams, `Invalid cursor: ${cursor}`)
    const page = visible.slice(start, start + PAGE_SIZE)
    const last = page[page.length - 1]
    const tasks = page.map(([, entry]) => ({ ...entry.task }))
    return start + PAGE_SIZE < visible.length && last !== undefined ? { tasks, nextCursor: last[0] } : { tasks }
  }

  /** Records a working task's latest progress; a finished task keeps its final message. */
  describe(taskId: string, sessionId: string | undefined, statusMessage: string): void {
    const entry = this.lookup(taskId, sessionId)
    if (entry !== undefined && !isTerminal(entry.task.status)) this.touch(entry, { statusMessage })
  }

  /** Stores a task's outcome unless it already ended (cancelled first); true when stored. */
  finish(taskId: string, sessionId: string | undefined, status: FinalStatus, result: Result, statusMessage?: string): boolean {
    const entry = this.lookup(taskId, sessionId)
    if (entry === undefined || isTerminal(entry.task.status)) return false
    entry.result = result
    entry.bytes = Buffer.byteLength(JSON.stringify(result))
    this.touch(entry, statusMessage === undefined ? { status } : { status, statusMessage })
    let excess = this.retainedBytes() - this.limits.maxRetainedBytes
    while (excess > 0) {
      const freed = this.evictSoonestExpiring()
      if (freed === undefined) break
      excess -= freed
    }
    return true
  }
}
