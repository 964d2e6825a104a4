import { serializeMessage } from "@modelcontextprotocol/sdk/shared/stdio.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import { ErrorCode, type JSONRPCMessage, JSONRPCMessageSchema } from "@modelcontextprotocol/sdk/types.js"
import type { Readable, Writable } from "node:stream"

/**
 * MCP over stdio: one JSON-RPC message per line. Unlike the SDK's stdio
 * transport, which drops a line it cannot read, this one answers it as
 * JSON-RPC asks: a line that is not JSON gets a -32700 Parse error, JSON that
 * is not a JSON-RPC message an -32600 Invalid Request (with its id when it
 * has one), so a client with a framing bug learns about it instead of
 * waiting. A line longer than `MAX_LINE_BYTES` is discarded the same way.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024

/**
 * An error reply; `id` is the offending message's when it has one. Without
 * one the reply has no id, as MCP's schema has it (JSON-RPC 2.0 would write
 * `null`, which MCP's schema, and so the SDK clients, reject).
 */
type Reply = { readonly code: number; readonly message: string; readonly id: string | number | undefined }

const idOf = (value: unknown): string | number | undefined => {
  const id = typeof value === "object" && value !== null ? (value as { readonly id?: unknown }).id : undefined
  return typeof id === "string" || typeof id === "number" ? id : undefined
}

/** The message a line holds, or the error to answer it with. */
export const readLine = (line: string): JSONRPCMessage | Reply => {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch (error) {
    return { code: ErrorCode.ParseError, message: `Parse error: the line is not JSON (${(error as Error).message})`, id: undefined }
  }
  const parsed = JSONRPCMessageSchema.safeParse(value)
  return parsed.success ? parsed.data : {
    code: ErrorCode.InvalidRequest,
    message: "Invalid Request: not a JSON-RPC 2.0 request, notification or response (one object per line, jsonrpc \"2.0\")",
    id: idOf(value)
  }
}

const isInitialize = (message: JSONRPCMessage) => "method" in message && "id" in message && message.method === "initialize"

export class LineStdioTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: (message: JSONRPCMessage) => void
  private chunks: Array<Buffer> = []
  private size = 0
  private skipping = false
  private corked = false
  /** Lines read while held, in order (see `hold`); undefined when not held. */
  private held: Array<string> | undefined
  /** Why every request is answered with an error from now on (see `refuse`). */
  private refusal: string | undefined

  constructor(private readonly stdin: Readable, private readonly stdout: Writable) {}

  /**
   * Until `release`, only an `initialize` request with nothing waiting before it reaches the server (the SDK
   * answers it from what it was built with); every other line waits, in order. A stdio server connects before
   * its services are built, so a client's `initialize` is answered while they are, and what it sends next
   * is read when its handlers are there.
   */
  hold(): void {
    this.held ??= []
  }

  /** Hands the lines that waited to the server, in the order they came, and every later one at once. */
  release(): void {
    const lines = this.held ?? []
    this.held = undefined
    for (const line of lines) this.dispatch(line)
  }

  /**
   * The server will not get further: each request that waited, and any that comes later, is answered with an
   * Internal error carrying `reason` (a notification needs no answer), so a client learns why instead of waiting.
   */
  refuse(reason: string): void {
    const lines = this.held ?? []
    this.held = undefined
    this.refusal = reason
    for (const line of lines) this.dispatch(line)
  }

  private readonly ondata = (chunk: Buffer) => {
    let rest = chunk
    for (let newline = rest.indexOf(10); newline >= 0; newline = rest.indexOf(10)) {
      this.take(rest.subarray(0, newline))
      const line = Buffer.concat(this.chunks).toString("utf8").replace(/\r$/, "")
      const skipped = this.skipping
      this.chunks = []
      this.size = 0
      this.skipping = false
      rest = rest.subarray(newline + 1)
      if (skipped) {
        this.reply({ code: ErrorCode.ParseError, message: `Parse error: the line is longer than ${MAX_LINE_BYTES} bytes`, id: undefined })
      } else if (line.trim() !== "") this.receive(line)
    }
    this.take(rest)
  }

  private readonly onerrorEvent = (error: Error) => this.onerror?.(error)

  private take(part: Buffer) {
    if (this.skipping || part.length === 0) return
    if (this.size + part.length > MAX_LINE_BYTES) {
      this.chunks = []
      this.size = 0
      this.skipping = true
      return
    }
    this.chunks.push(part)
    this.size += part.length
  }

  private receive(line: string) {
    if (this.held === undefined) return this.dispatch(line)
    if (this.held.length > 0) return void this.held.push(line)
    const read = readLine(line)
    if ("jsonrpc" in read && isInitialize(read)) this.onmessage?.(read)
    else this.held.push(line)
  }

  private dispatch(line: string) {
    const read = readLine(line)
    if (!("jsonrpc" in read)) this.reply(read)
    else if (this.refusal === undefined) this.onmessage?.(read)
    else if ("method" in read && "id" in read) this.reply({ code: ErrorCode.InternalError, message: this.refusal, id: read.id })
  }

  private reply(reply: Reply) {
    this.onerror?.(new Error(reply.message))
    const error = { code: reply.code, message: reply.message }
    void this.send((reply.id === undefined ? { jsonrpc: "2.0", error } : { jsonrpc: "2.0", id: reply.id, error }) as JSONRPCMessage)
  }

  async start(): Promise<void> {
    this.stdin.on("data", this.ondata)
    this.stdin.on("error", this.onerrorEvent)
  }

  async close(): Promise<void> {
    this.flush()
    this.stdin.off("data", this.ondata)
    this.stdin.off("error", this.onerrorEvent)
    if (this.stdin.listenerCount("data") === 0) this.stdin.pause()
    this.chunks = []
    this.onclose?.()
  }

  /**
   * A notification waits for the end of the event loop's turn, or for the
   * next response, and leaves in the same write: a call's "started" log
   * message after the tool's spawn has been asked for, its "finished" one with
   * its result. A write to a pipe is a system call that wakes the client each
   * time (and on Linux stdout blocks while it writes); the bytes and their
   * order are the same, and a response is never held back.
   */
  send(message: JSONRPCMessage): Promise<void> {
    const notification = !("id" in message)
    if (notification && !this.corked) {
      this.corked = true
      this.stdout.cork()
      setImmediate(this.flush)
    }
    const written = new Promise<void>((resolve) => {
      if (this.stdout.write(serializeMessage(message))) resolve()
      else this.stdout.once("drain", resolve)
    })
    if (!notification) this.flush()
    return written
  }

  private readonly flush = () => {
    if (!this.corked) return
    this.corked = false
    this.stdout.uncork()
  }
}
