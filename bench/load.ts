import net from "node:net"
import { performance } from "node:perf_hooks"
import type { RequestSpec } from "./http.js"
import { summarize, type Summary } from "./stats.js"

/**
 * Closed-loop load: `connections` keep-alive sockets, each sending its next
 * request as soon as the previous reply has been read, for a fixed duration.
 * Requests are pre-serialised and replies framed by Content-Length on raw
 * sockets: node's http client costs more CPU per request than a small server
 * spends answering, and on a 2-CPU machine it would cap both servers alike.
 */

export interface LoadResult {
  readonly connections: number
  readonly seconds: number
  readonly requests: number
  readonly rps: number
  readonly latencyMs: Summary
  readonly statuses: Readonly<Record<string, number>>
  readonly errors: number
}

export const serialise = (port: number, spec: RequestSpec): Buffer => {
  const body = spec.body ?? ""
  const headers = [
    `${spec.method} ${spec.path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    "Connection: keep-alive",
    ...(spec.body === undefined ? [] : ["Content-Type: application/json", `Content-Length: ${Buffer.byteLength(body)}`])
  ]
  return Buffer.from(`${headers.join("\r\n")}\r\n\r\n${body}`, "utf8")
}

const HEADER_END = Buffer.from("\r\n\r\n")

/** Length of the first complete response in `buffer` and its status, or undefined while it is incomplete. */
export const frame = (buffer: Buffer): { readonly length: number; readonly status: number } | undefined => {
  const headerEnd = buffer.indexOf(HEADER_END)
  if (headerEnd < 0) return undefined
  const head = buffer.subarray(0, headerEnd).toString("latin1")
  const contentLength = /\r\ncontent-length:\s*(\d+)/i.exec(head)
  if (contentLength === null) throw new Error(`response without Content-Length: ${head.split("\r\n")[0]}`)
  const length = headerEnd + HEADER_END.length + Number(contentLength[1])
  return buffer.length < length ? undefined : { length, status: Number(head.slice(9, 12)) }
}

/** One socket's request loop until the deadline; resolves with the failure, if any, that ended it early. */
const session = (port: number, request: Buffer, deadline: number, record: (status: number, ms: number) => void) =>
  new Promise<Error | undefined>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, noDelay: true })
    let pending: Buffer = Buffer.alloc(0)
    let sentAt = 0
    let done = false
    const finish = (error: Error | undefined) => {
      if (done) return
      done = true
      socket.destroy()
      resolve(error)
    }
    const send = () => {
      if (performance.now() >= deadline) return finish(undefined)
      sentAt = performance.now()
      socket.write(request)
    }
    socket.on("connect", send)
    socket.on("data", (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      try {
        let reply = frame(pending)
        while (reply !== undefined && !done) {
          record(reply.status, performance.now() - sentAt)
          pending = pending.subarray(reply.length)
          send()
          reply = frame(pending)
        }
      } catch (error) {
        finish(error as Error)
      }
    })
    socket.on("error", finish)
    socket.on("close", () => finish(performance.now() >= deadline ? undefined : new Error("server closed the connection")))
  })

export const runLoad = async (port: number, spec: RequestSpec, connections: number, durationMs: number): Promise<LoadResult> => {
  const request = serialise(port, spec)
  const latencies: Array<number> = []
  const statuses: Record<string, number> = {}
  let errors = 0
  const record = (status: number, ms: number) => {
    latencies.push(ms)
    statuses[status] = (statuses[status] ?? 0) + 1
  }
  const started = performance.now()
  const deadline = started + durationMs
  // A server that keeps refusing would otherwise be reconnected to in a tight loop until the deadline.
  const worker = async () => {
    let failedInARow = 0
    while (performance.now() < deadline && failedInARow < 3) {
      const error = await session(port, request, deadline, record)
      if (error !== undefined) errors++
      failedInARow = error === undefined ? 0 : failedInARow + 1
    }
  }
  await Promise.all(Array.from({ length: connections }, worker))
  const seconds = (performance.now() - started) / 1000
  return {
    connections,
    seconds,
    requests: latencies.length,
    rps: latencies.length / seconds,
    latencyMs: summarize(latencies),
    statuses,
    errors
  }
}
