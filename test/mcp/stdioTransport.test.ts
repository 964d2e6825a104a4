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
