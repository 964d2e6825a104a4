import { describe, expect, it } from "@effect/vitest"
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js"
import { PassThrough, Writable } from "node:stream"
import { LineStdioTransport } from "../../src/mcp/stdioTransport.js"

/** A stdout that records what each system call would have written. */
const recordingStdout = () => {
  const writes: Array<string> = []
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString("utf8"))
      done()
    },
    writev(chunks, done) {
      writes.push(chunks.map(({ chunk }) => String(chunk)).join(""))
      done()
    }
  })
  return { stdout, writes }
}

const notification = (n: number): JSONRPCMessage => ({
  jsonrpc: "2.0",
  method: "notifications/message",
  params: { level: "info", data: `m${n}` }
})
const response = (id: number): JSONRPCMessage => ({ jsonrpc: "2.0", id, result: {} })
const line = (message: JSONRPCMessage) => `${JSON.stringify(message)}\n`
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

describe("LineStdioTransport writes", () => {
  it("sends the notifications of one turn in one write at its end, and a response at once with those before it, in order", async () => {
    const { stdout, writes } = recordingStdout()
    const transport = new LineStdioTransport(new PassThrough(), stdout)
    await transport.start()
    void transport.send(notification(1))
    void transport.send(notification(2))
    expect(writes).toEqual([])
    await nextTurn()
    expect(writes).toEqual([line(notification(1)) + line(notification(2))])

    void transport.send(notification(3))
    void transport.send(response(7))
    expect(writes.slice(1)).toEqual([line(notification(3)) + line(response(7))])
    void transport.send(response(8))
    expect(writes.slice(2)).toEqual([line(response(8))])
    await nextTurn()
    expect(writes).toHaveLength(3)
  })

  it("writes a notification still waiting when it closes", async () => {
    const { stdout, writes } = recordingStdout()
    const transport = new LineStdioTransport(new PassThrough(), stdout)
    await transport.start()
    void transport.send(notification(1))
    await transport.close()
    expect(writes).toEqual([line(notification(1))])
  })
})

describe("LineStdioTransport held until the server is ready", () => {
  const request = (id: number, method: string) => `${JSON.stringify({ jsonrpc: "2.0", id, method, params: {} })}\n`
  const initialized = `${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`
  const held = async () => {
    const stdin = new PassThrough()
    const { stdout, writes } = recordingStdout()
    const transport = new LineStdioTransport(stdin, stdout)
    const received: Array<string> = []
    transport.onmessage = (message) => received.push("method" in message ? message.method : "response")
    transport.hold()
    await transport.start()
    return { stdin, transport, received, writes }
  }

  it("passes an initialize at once and hands over the lines that waited, in order, on release", async () => {
    const { received, stdin, transport, writes } = await held()
    stdin.write(request(1, "initialize") + initialized + request(2, "tools/list") + "{not json\n" + request(3, "initialize"))
    await nextTurn()
    expect(received).toEqual(["initialize"])
    expect(writes).toEqual([])
    transport.release()
    expect(received).toEqual(["initialize", "notifications/initialized", "tools/list", "initialize"])
    await nextTurn()
    expect(writes.map((w) => JSON.parse(w).error.code)).toEqual([-32700])
    stdin.write(request(4, "ping"))
    await nextTurn()
    expect(received.at(-1)).toBe("ping")
  })

  it("holds an initialize that comes after a line still waiting", async () => {
    const { received, stdin, transport } = await held()
    stdin.write(request(1, "tools/list") + request(2, "initialize"))
    await nextTurn()
    expect(received).toEqual([])
    transport.release()
    expect(received).toEqual(["tools/list", "initialize"])
  })

  it("answers every request that waited or comes later with the start-up failure; notifications get nothing", async () => {
    const { received, stdin, transport, writes } = await held()
    stdin.write(request(1, "initialize") + initialized + request(2, "tools/list"))
    await nextTurn()
    transport.refuse("the server could not start: the log file cannot be opened")
    stdin.write(request(3, "tools/call"))
    await nextTurn()
    expect(received).toEqual(["initialize"])
    expect(writes.map((w) => JSON.parse(w))).toEqual([2, 3].map((id) => ({
      jsonrpc: "2.0",
      id,
      error: { code: -32603, message: "the server could not start: the log file cannot be opened" }
    })))
  })
})
