import { describe, expect, it } from "@effect/vitest"
import { ErrorCode, McpError } from "@modelcontextprotocol/sdk/types.js"
import { BoundedTaskStore, effectiveTtl, type TaskLimits } from "../../src/mcp/TaskStore.js"

const limits: TaskLimits = {
  maxRunning: 2,
  maxRetained: 3,
  maxRetainedBytes: 1_000_000,
  defaultTtlMs: 1_000,
  maxTtlMs: 5_000,
  pollIntervalMs: 100
}
const request = { method: "tools/call", params: { name: "NmapTool" } }
const result = { content: [{ type: "text", text: "done" }] }

const setup = () => {
  const clock = { now: 1_700_000_000_000 }
  const store = new BoundedTaskStore(limits, () => clock.now)
  const create = (ttl?: number | null, sessionId = "s1") => store.createTask(ttl === undefined ? {} : { ttl }, 1, request, sessionId)
  return { clock, store, create }
}

const rejection = (promise: Promise<unknown>) =>
  promise.then(() => undefined, (error: unknown) => {
    expect(error).toBeInstanceOf(McpError)
    return error as McpError
  })

describe("BoundedTaskStore", () => {
  it("clamps the requested ttl and uses the default for none or unlimited", () => {
    expect(effectiveTtl(undefined, limits)).toBe(1_000)
    expect(effectiveTtl(null, limits)).toBe(1_000)
    expect(effectiveTtl(2_000, limits)).toBe(2_000)
    expect(effectiveTtl(60_000, limits)).toBe(5_000)
    expect(effectiveTtl(-5, limits)).toBe(0)
  })

  it("creates working tasks with timestamps, the actual ttl and the poll interval", async () => {
    const { create } = setup()
    const task = await create(60_000)
    expect(task).toMatchObject({ status: "working", ttl: 5_000, pollInterval: 100, createdAt: "2023-11-14T22:13:20.000Z" })
    expect(task.lastUpdatedAt).toBe(task.createdAt)
  })

  it("a finished task expires ttl after it finished; a working one never does", async () => {
    const { clock, create, store } = setup()
    const task = await create(1_000)
    clock.now += 10_000
    expect((await store.getTask(task.taskId, "s1"))?.status).toBe("working")
    expect(store.finish(task.taskId, "s1", "completed", result, "done")).toBe(true)
    clock.now += 999
    expect(await store.getTaskResult(task.taskId, "s1")).toEqual(result)
    clock.now += 1
    expect(await store.getTask(task.taskId, "s1")).toBeNull()
    expect((await rejection(store.getTaskResult(task.taskId, "s1")))?.code).toBe(ErrorCode.InvalidParams)
  })

  it("refuses a task beyond the running cap, and makes room by dropping the finished task closest to expiry", async () => {
    const { create, store } = setup()
    const first = await create(3_000)
    const second = await create(1_000)
    expect((await rejection(create()))?.code).toBe(ErrorCode.InvalidRequest)
    store.finish(first.taskId, "s1", "completed", result)
    store.finish(second.taskId, "s1", "failed", result)
    const third = await create()
    await create()
    expect(await store.getTask(second.taskId, "s1")).toBeNull()
    expect(await store.getTask(first.taskId, "s1")).not.toBeNull()
    expect(await store.getTask(third.taskId, "s1")).not.toBeNull()
    expect((await store.listTasks(undefined, "s1")).tasks).toHaveLength(3)
  })

  it("a task is invisible to any other session", async () => {
    const { create, store } = setup()
    const task = await create(undefined, "s1")
    expect(await store.getTask(task.taskId, "s2")).toBeNull()
    expect(await store.getTask(task.taskId, undefined)).toBeNull()
    expect((await store.listTasks(undefined, "s2")).tasks).toEqual([])
    expect((await rejection(store.updateTaskStatus(task.taskId, "cancelled", undefined, "s2")))?.code).toBe(ErrorCode.InvalidParams)
    expect(store.finish(task.taskId, "s2", "completed", result)).toBe(false)
    expect((await store.getTask(task.taskId, "s1"))?.status).toBe("working")
  })

  it("a cancelled task keeps its status: no later result, no result to fetch, no further transition", async () => {
    const { create, store } = setup()
    const task = await create()
    await store.updateTaskStatus(task.taskId, "cancelled", "stopped", "s1")
    expect(store.finish(task.taskId, "s1", "completed", result)).toBe(false)
    store.describe(task.taskId, "s1", "late progress")
    expect(await store.getTask(task.taskId, "s1")).toMatchObject({ status: "cancelled", statusMessage: "stopped" })
    expect((await rejection(store.getTaskResult(task.taskId, "s1")))?.message).toContain("cancelled")
    expect((await rejection(store.updateTaskStatus(task.taskId, "working", undefined, "s1")))?.code).toBe(ErrorCode.InvalidParams)
    await expect(store.storeTaskResult(task.taskId, "completed", result, "s1")).rejects.toBeInstanceOf(McpError)
  })

  it("pages tasks/list with an opaque cursor and rejects an unknown one", async () => {
    const store = new BoundedTaskStore({ ...limits, maxRunning: 120, maxRetained: 120 }, () => 1_700_000_000_000)
    const ids: Array<string> = []
    for (let index = 0; index < 60; index++) ids.push((await store.createTask({}, index, request, "s1")).taskId)
    const first = await store.listTasks(undefined, "s1")
    expect(first.tasks).toHaveLength(50)
    expect(first.nextCursor).toBeDefined()
    const second = await store.listTasks(first.nextCursor, "s1")
    expect(second.nextCursor).toBeUndefined()
    expect([...first.tasks, ...second.tasks].map((task) => task.taskId)).toEqual(ids)
    expect((await rejection(store.listTasks("nope", "s1")))?.code).toBe(ErrorCode.InvalidParams)
  })
})

describe("BoundedTaskStore result bytes", () => {
  it("drops the finished results closest to expiry once their bytes exceed the cap", async () => {
    const clock = { now: 1_700_000_000_000 }
    const store = new BoundedTaskStore({ ...limits, maxRetained: 10, maxRetainedBytes: 5_000 }, () => clock.now)
    const big = { content: [{ type: "text", text: "x".repeat(2_000) }] }
    const ids: Array<string> = []
    for (let i = 0; i < 3; i++) {
      const task = await store.createTask({ ttl: 5_000 }, i, request, "s1")
      ids.push(task.taskId)
      clock.now += 10
      store.finish(task.taskId, "s1", "completed", big)
    }
    const kept = await Promise.all(ids.map((id) => store.getTask(id, "s1")))
    expect(kept.map((task) => task !== null)).toEqual([false, true, true])
    expect((await store.getTaskResult(ids[2]!, "s1")).content).toEqual(big.content)
  })
})
