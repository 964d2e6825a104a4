import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { ReadBuffer, serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { CallToolResultSchema, CreateTaskResultSchema, type JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { Deferred, Effect, Fiber, Layer, Ref } from "effect"
import { PassThrough } from "node:stream"
import { ConfigService } from "../../src/config/ConfigService.js"
import { runStdio } from "../../src/mcp/stdio.js"
import { info, makeFake } from "../http/fakes.js"

/** The client half of a stdio connection over in-process pipes, framed exactly as over a child's stdin/stdout. */
class PipeClientTransport implements Transport {
  onmessage?: (message: JSONRPCMessage) => void
  onclose?: () => void
  onerror?: (error: Error) => void
  readonly lines: Array<string> = []
  private readonly buffer = new ReadBuffer()
  constructor(private readonly toServer: PassThrough, private readonly fromServer: PassThrough) {}
  async start() {
    this.fromServer.on("data", (chunk: Buffer) => {
      this.lines.push(...chunk.toString("utf8").split("\n").filter((line) => line !== ""))
      this.buffer.append(chunk)
      for (let message = this.buffer.readMessage(); message !== null; message = this.buffer.readMessage()) {
        this.onmessage?.(message)
      }
    })
  }
  async send(message: JSONRPCMessage) {
    this.toServer.write(serializeMessage(message))
  }
  async close() {
    this.toServer.end()
    this.onclose?.()
  }
}

const setup = Effect.gen(function*() {
  const { fake, layer } = yield* makeFake
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const context = yield* Layer.build(layer.pipe(Layer.provideMerge(ConfigService.layerWith())))
  const server = yield* runStdio({ info, stdin, stdout }).pipe(Effect.provide(context), Effect.fork)
  const transport = new PipeClientTransport(stdin, stdout)
  const client = new Client({ name: "vitest", version: "1.0.0" })
  yield* Effect.promise(() => client.connect(transport))
  return { fake, server, client, transport, stdin }
})

describe("MCP over stdio", () => {
  it.scopedLive("serves tools with the stdio caller; stdout carries only JSON-RPC", () =>
    Effect.gen(function*() {
      const { client, fake, server, stdin, transport } = yield* setup
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((tool) => tool.name)).toEqual(["NmapTool"])
      const result = yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1" } }))
      expect(result.structuredContent).toMatchObject({ execution: { tool: "NmapTool" } })
      const [call] = yield* Ref.get(fake.calls)
      expect(call?.caller).toMatchObject({ id: "stdio", transport: "stdio" })
      expect([...(call?.caller.scopes ?? [])].sort()).toEqual(["admin", "execute", "intrusive", "schedule"])
      for (const line of transport.lines) expect(JSON.parse(line).jsonrpc).toBe("2.0")
      stdin.end()
      yield* Fiber.join(server).pipe(Effect.timeout("10 seconds"))
    }), 20_000)

  it.scopedLive(
    "a line that is not JSON gets a -32700 reply, JSON that is not JSON-RPC a -32600 with its id; the server goes on",
    () =>
      Effect.gen(function*() {
        const { client, stdin, transport } = yield* setup
        stdin.write("this is not json\n")
        stdin.write("{\"id\": 41, \"hello\": true}\n\n")
        const replies = () => transport.lines.map((line) => JSON.parse(line) as { id?: unknown; error?: { code: number; message: string } })
        yield* Effect.promise(() => client.ping())
        const errors = replies().filter((r) => r.error !== undefined)
        expect(errors).toEqual([
          { jsonrpc: "2.0", error: { code: -32700, message: expect.stringMatching(/^Parse error: the line is not JSON/) } },
          { jsonrpc: "2.0", id: 41, error: { code: -32600, message: expect.stringMatching(/^Invalid Request/) } }
        ])
        expect((yield* Effect.promise(() => client.listTools())).tools.length).toBe(1)
      }),
    20_000
  )

  it.scopedLive("stdin closing ends the server and interrupts running calls", () =>
    Effect.gen(function*() {
      const { client, fake, server, stdin } = yield* setup
      client.callTool({ name: "NmapTool", arguments: { target: "slow" } }).catch(() => undefined)
      yield* Deferred.await(fake.started)
      stdin.end()
      yield* Fiber.join(server).pipe(Effect.timeout("10 seconds"))
      expect(yield* Deferred.await(fake.interrupted).pipe(Effect.timeout("10 seconds"))).toBe("stdio")
    }), 20_000)

  it.scopedLive("a cancelled request interrupts its execution", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup
      const abort = new AbortController()
      client.callTool({ name: "NmapTool", arguments: { target: "slow" } }, undefined, { signal: abort.signal }).catch(() => undefined)
      yield* Deferred.await(fake.started)
      abort.abort()
      expect(yield* Deferred.await(fake.interrupted).pipe(Effect.timeout("10 seconds"))).toBe("stdio")
    }), 20_000)

  it.scopedLive("tools run as tasks over stdio too, with the stdio caller; cancelling one interrupts it", () =>
    Effect.gen(function*() {
      const { client, fake } = yield* setup
      yield* Effect.promise(() => client.listTools())
      const quick = yield* Effect.promise(() =>
        client.request({ method: "tools/call", params: { name: "NmapTool", arguments: { target: "127.0.0.1" } } }, CreateTaskResultSchema, {
          task: {}
        })
      )
      const result = yield* Effect.promise(() => client.experimental.tasks.getTaskResult(quick.task.taskId, CallToolResultSchema))
      expect(result.structuredContent).toMatchObject({ execution: { tool: "NmapTool" } })
      const slow = yield* Effect.promise(() =>
        client.request({ method: "tools/call", params: { name: "NmapTool", arguments: { target: "slow" } } }, CreateTaskResultSchema, {
          task: {}
        })
      )
      yield* Deferred.await(fake.started)
      const cancelled = yield* Effect.promise(() => client.experimental.tasks.cancelTask(slow.task.taskId))
      expect(cancelled.status).toBe("cancelled")
      expect(yield* Deferred.await(fake.interrupted).pipe(Effect.timeout("10 seconds"))).toBe("stdio")
      const { tasks } = yield* Effect.promise(() => client.experimental.tasks.listTasks())
      expect(tasks.map((task) => task.status)).toEqual(["completed", "cancelled"])
    }), 20_000)
})
