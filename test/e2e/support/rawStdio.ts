import type { Spawned } from "./processes.js"

export interface JsonRpcMessage {
  readonly jsonrpc?: unknown
  readonly id?: number | string
  readonly method?: string
  readonly result?: any
  readonly error?: { readonly code: number; readonly message: string }
}

/**
 * Speaks newline-delimited JSON-RPC to a spawned stdio server without the
 * SDK, so the test sees every byte the server writes to stdout.
 */
export class RawStdio {
  private buffer = ""
  /** Every line written to stdout, unparsed, in order. */
  readonly lines: Array<string> = []
  private nextId = 1
  private readonly waiting = new Map<number, (message: JsonRpcMessage) => void>()

  constructor(readonly server: Spawned) {
    server.child.stdout!.setEncoding("utf8")
    server.child.stdout!.on("data", (chunk: string) => {
      this.buffer += chunk
      let newline = this.buffer.indexOf("\n")
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline)
        this.buffer = this.buffer.slice(newline + 1)
        this.lines.push(line)
        this.dispatch(line)
        newline = this.buffer.indexOf("\n")
      }
    })
  }

  private dispatch(line: string) {
    try {
      const message = JSON.parse(line) as JsonRpcMessage
      if (typeof message.id === "number" && message.method === undefined) this.waiting.get(message.id)?.(message)
    } catch {
      // Not JSON: the purity test reports it from `lines`.
    }
  }

  /** What is left after the last newline (should be empty once the server exits). */
  get partial(): string {
    return this.buffer
  }

  notify(method: string, params: Record<string, unknown> = {}): void {
    this.server.child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", method, params })}\n`)
  }

  request(method: string, params: Record<string, unknown> = {}): Promise<JsonRpcMessage> {
    const id = this.nextId++
    const answered = new Promise<JsonRpcMessage>((resolve) => this.waiting.set(id, resolve))
    this.server.child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`)
    return answered
  }

  /** A request whose params are JSON text as given, for documents `JSON.stringify` cannot write (e.g. nested 10,000 deep). */
  requestText(method: string, paramsJson: string): Promise<JsonRpcMessage> {
    const id = this.nextId++
    const answered = new Promise<JsonRpcMessage>((resolve) => this.waiting.set(id, resolve))
    this.server.child.stdin!.write(`{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${paramsJson}}\n`)
    return answered
  }

  /** Sends the id of the next request without waiting for its answer (for calls interrupted by a signal). */
  send(method: string, params: Record<string, unknown> = {}): number {
    const id = this.nextId++
    this.server.child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`)
    return id
  }

  async initialize(): Promise<JsonRpcMessage> {
    const answer = await this.request("initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "e2e-raw", version: "1.0.0" }
    })
    this.notify("notifications/initialized")
    return answer
  }
}
