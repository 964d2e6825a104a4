import { describe, expect, it } from "@effect/vitest"
import type { Client } from "@modelcontextprotocol/sdk/client/index.js"
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ErrorCode,
  McpError,
  RELATED_TASK_META_KEY,
  type Task
} from "@modelcontextprotocol/sdk/types.js"
import { Deferred, Effect, Queue } from "effect"
import { defaultTaskLimits } from "../../src/mcp/TaskStore.js"
import { authPatch, keys } from "../http/fakes.js"
import { connect, startTaskServer } from "./taskServer.js"

const createTask = (client: Client, target: string, options: { ttl?: number; onprogress?: (progress: unknown) => void } = {}) =>
  Effect.promise(() =>
    client.request(
      { method: "tools/call", params: { name: "NmapTool", arguments: { target } } },
      CreateTaskResultSchema,
      { task: options.ttl === undefined ? {} : { ttl: options.ttl }, ...(options.onprogress ? { onprogress: options.onprogress } : {}) }
    )
  ).pipe(Effect.map(({ task }) => task))

const getTask = (client: Client, taskId: string) => Effect.promise(() => client.experimental.tasks.getTask(taskId))

const pollUntil = (client: Client, taskId: string, done: (task: Task) => boolean) =>
  getTask(client, taskId).pipe(
    Effect.delay("20 millis"),
    Effect.repeat({ until: done }),
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`task ${taskId} did not get there`) }),
    Effect.orDie
  )

/** The McpError a client call rejects with. */
const rejection = (call: () => Promise<unknown>) =>
  Effect.promise(() => call().then(() => undefined, (error: unknown) => error)).pipe(
    Effect.map((error) => {
      expect(error).toBeInstanceOf(McpError)
      return error as McpError
    })
  )

describe("MCP tasks over Streamable HTTP (real SDK client, real server)", () => {
  it.scopedLive("advertises the tasks capability and optional task support on every tool", () =>
    Effect.gen(function*() {
      const { base } = yield* startTaskServer()
      const { client } = yield* connect(base)
      expect(client.getServerCapabilities()?.tasks).toEqual({ list: {}, cancel: {}, requests: { tools: { call: {} } } })
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.length).toBeGreaterThan(0)
      for (const tool of tools) expect(tool.execution).toEqual({ taskSupport: "optional" })
    }), 20_000)

  it.scopedLive(
    "a task answers at once, reports progress in tasks/get, and tasks/result gives the tool result",
    () =>
      Effect.gen(function*() {
        const { base, stepper } = yield* startTaskServer()
        const { client } = yield* connect(base)
        const task = yield* createTask(client, "stepped", { ttl: 120_000 })
        expect(task).toMatchObject({ status: "working", ttl: 120_000, pollInterval: defaultTaskLimits.pollIntervalMs })
        yield* Deferred.await(stepper.started)
        yield* Queue.offer(stepper.commands, "step")
        const working = yield* pollUntil(client, task.taskId, (current) => current.statusMessage === "step 1")
        expect(working.status).toBe("working")
        const listed = yield* Effect.promise(() => client.experimental.tasks.listTasks())
        expect(listed.tasks.map((listedTask) => listedTask.taskId)).toEqual([task.taskId])

        yield* Queue.offer(stepper.commands, "finish")
        const completed = yield* pollUntil(client, task.taskId, (current) => current.status !== "working")
        expect(completed).toMatchObject({ status: "completed", statusMessage: "1 host up: 127.0.0.1", ttl: 120_000 })
        const result = yield* Effect.promise(() => client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema))
        expect(result.isError).toBe(false)
        expect(result.content).toEqual([{ type: "text", text: "1 host up: 127.0.0.1" }])
        expect(result.structuredContent).toMatchObject({ result: { hosts: [{ address: "127.0.0.1" }] }, execution: { tool: "NmapTool" } })
        expect(result._meta?.[RELATED_TASK_META_KEY]).toEqual({ taskId: task.taskId })
      }),
    20_000
  )

  it.scopedLive("tasks/result blocks until the task ends", () =>
    Effect.gen(function*() {
      const { base, stepper } = yield* startTaskServer()
      const { client } = yield* connect(base)
      const task = yield* createTask(client, "stepped")
      yield* Deferred.await(stepper.started)
      const pending = client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema)
      const early = yield* Effect.promise(() =>
        Promise.race([pending.then(() => "answered"), new Promise((resolve) => setTimeout(resolve, 300, "blocked"))])
      )
      expect(early).toBe("blocked")
      yield* Queue.offer(stepper.commands, "finish")
      const result = yield* Effect.promise(() => pending)
      expect(result.structuredContent).toMatchObject({ result: { hosts: [{ address: "127.0.0.1" }] } })
    }), 20_000)

  it.scopedLive("the SDK's callToolStream runs a tool as a task through to its validated result", () =>
    Effect.gen(function*() {
      const { base } = yield* startTaskServer()
      const { client } = yield* connect(base)
      const messages = yield* Effect.promise(async () => {
        const seen: Array<{ type: string; status?: string; isError?: boolean }> = []
        for await (const message of client.experimental.tasks.callToolStream({ name: "NmapTool", arguments: { target: "127.0.0.1" } })) {
          if (message.type === "taskCreated") seen.push({ type: message.type, status: message.task.status })
          if (message.type === "taskStatus") seen.push({ type: message.type, status: message.task.status })
          if (message.type === "result") seen.push({ type: message.type, isError: message.result.isError === true })
          if (message.type === "error") seen.push({ type: message.type })
        }
        return seen
      })
      expect(messages[0]).toEqual({ type: "taskCreated", status: "working" })
      expect(messages.at(-2)).toEqual({ type: "taskStatus", status: "completed" })
      expect(messages.at(-1)).toEqual({ type: "result", isError: false })
    }), 20_000)

  it.scopedLive("a typed error fails the task with the same isError result as a plain call", () =>
    Effect.gen(function*() {
      const { base } = yield* startTaskServer()
      const { client } = yield* connect(base)
      const task = yield* createTask(client, "badarg")
      const failed = yield* pollUntil(client, task.taskId, (current) => current.status !== "working")
      expect(failed).toMatchObject({ status: "failed", statusMessage: "ArgumentRejected: Flag --evil is not allowed" })
      const result = yield* Effect.promise(() => client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema))
      const plain = yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "badarg" } }))
      expect(result.isError).toBe(true)
      expect(result.structuredContent).toEqual(plain.structuredContent)
      expect(result.content).toEqual(plain.content)
    }), 20_000)

  it.scopedLive("tasks/cancel interrupts the execution and leaves the task cancelled", () =>
    Effect.gen(function*() {
      const { base, stepper } = yield* startTaskServer()
      const { client } = yield* connect(base)
      const task = yield* createTask(client, "stepped")
      yield* Deferred.await(stepper.started)
      const cancelled = yield* Effect.promise(() => client.experimental.tasks.cancelTask(task.taskId))
      expect(cancelled.status).toBe("cancelled")
      // the cancel answer comes after the fiber ended, so the interruption is already recorded
      expect(yield* Deferred.isDone(stepper.interrupted)).toBe(true)
      expect(yield* Deferred.await(stepper.interrupted)).toBe("anonymous@127.0.0.1")
      expect((yield* getTask(client, task.taskId)).status).toBe("cancelled")
      const again = yield* rejection(() => client.experimental.tasks.cancelTask(task.taskId))
      expect(again.code).toBe(ErrorCode.InvalidParams)
      const noResult = yield* rejection(() => client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema))
      expect(noResult.message).toContain("cancelled")
    }), 20_000)

  it.scopedLive("progress of a task reaches the client with the related-task key", () =>
    Effect.gen(function*() {
      const { base, stepper } = yield* startTaskServer()
      const { client } = yield* connect(base)
      const seen = yield* Deferred.make<unknown>()
      const task = yield* createTask(client, "stepped", { onprogress: (progress) => Deferred.unsafeDone(seen, Effect.succeed(progress)) })
      yield* Deferred.await(stepper.started)
      // task progress travels on the session's GET stream, which the client opens on its own after initialize;
      // until it is there a notification has nowhere to go, so step again until one arrives
      const progress = yield* Effect.gen(function*() {
        yield* Queue.offer(stepper.commands, "step")
        return yield* Deferred.await(seen).pipe(Effect.timeout("500 millis"))
      }).pipe(Effect.retry({ times: 20 }))
      expect(progress).toMatchObject({ total: 10, _meta: { [RELATED_TASK_META_KEY]: { taskId: task.taskId } } })
    }), 20_000)

  it.scopedLive(
    "a task belongs to its session: another session (and key) can neither see, read nor cancel it",
    () =>
      Effect.gen(function*() {
        const { base, stepper } = yield* startTaskServer(authPatch)
        const owner = yield* connect(base, keys.executor)
        const other = yield* connect(base, keys.admin)
        const task = yield* createTask(owner.client, "stepped")
        yield* Deferred.await(stepper.started)
        const get = yield* rejection(() => other.client.experimental.tasks.getTask(task.taskId))
        expect(get.code).toBe(ErrorCode.InvalidParams)
        const result = yield* rejection(() => other.client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema))
        expect(result.code).toBe(ErrorCode.InvalidParams)
        const cancel = yield* rejection(() => other.client.experimental.tasks.cancelTask(task.taskId))
        expect(cancel.code).toBe(ErrorCode.InvalidParams)
        expect((yield* Effect.promise(() => other.client.experimental.tasks.listTasks())).tasks).toEqual([])
        expect(yield* Deferred.isDone(stepper.interrupted)).toBe(false)
        expect((yield* getTask(owner.client, task.taskId)).status).toBe("working")
      }),
    20_000
  )

  it.scopedLive("closing the session stops its tasks", () =>
    Effect.gen(function*() {
      const { base, stepper } = yield* startTaskServer()
      const { client, transport } = yield* connect(base)
      yield* createTask(client, "stepped")
      yield* Deferred.await(stepper.started)
      yield* Effect.promise(() => transport.terminateSession())
      yield* Deferred.await(stepper.interrupted).pipe(Effect.timeout("10 seconds"))
    }), 20_000)

  it.scopedLive(
    "running tasks are capped per session; a cancelled one frees its slot, and plain calls still work",
    () =>
      Effect.gen(function*() {
        const { base } = yield* startTaskServer()
        const { client } = yield* connect(base)
        const tasks = yield* Effect.forEach(Array.from({ length: defaultTaskLimits.maxRunning }), () => createTask(client, "stepped"))
        const refused = yield* rejection(() =>
          client.request(
            { method: "tools/call", params: { name: "NmapTool", arguments: { target: "stepped" } } },
            CreateTaskResultSchema,
            { task: {} }
          )
        )
        expect(refused.code).toBe(ErrorCode.InvalidRequest)
        expect(refused.message).toContain("Too many running tasks")
        const plain = yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1" } }))
        expect(plain.isError).toBe(false)
        yield* Effect.promise(() => client.experimental.tasks.cancelTask(tasks[0]?.taskId ?? ""))
        const accepted = yield* createTask(client, "stepped")
        expect(accepted.status).toBe("working")
      }),
    30_000
  )
})
