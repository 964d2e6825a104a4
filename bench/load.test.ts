import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import http from "node:http"
import type { AddressInfo } from "node:net"
import { frame, runLoad, serialise } from "./load.js"

describe("frame", () => {
  const reply = (body: string, status = "200 OK") =>
    Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)

  it("waits for the whole body, then reports the status and length", () => {
    const full = reply("{\"ok\":true}", "400 Bad Request")
    expect(frame(full.subarray(0, 20))).toBeUndefined()
    expect(frame(full.subarray(0, full.length - 1))).toBeUndefined()
    expect(frame(full)).toEqual({ length: full.length, status: 400 })
  })

  it("frames the first of several pipelined replies", () => {
    const first = reply("a")
    expect(frame(Buffer.concat([first, reply("bb")]))).toEqual({ length: first.length, status: 200 })
  })

  it("refuses a reply it cannot frame", () => {
    expect(() => frame(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))).toThrow(/Content-Length/)
  })
})

describe("runLoad", () => {
  it.scoped("drives a loopback server over keep-alive connections and counts statuses", () =>
    Effect.gen(function*() {
      const seen = new Set<number>()
      const server = http.createServer((req, res) => {
        seen.add(req.socket.remotePort ?? 0)
        let body = ""
        req.on("data", (chunk: Buffer) => (body += chunk.toString()))
        req.on("end", () => {
          const text = JSON.stringify({ echo: body })
          res.writeHead(req.method === "POST" ? 400 : 200, { "content-length": Buffer.byteLength(text) })
          res.end(text)
        })
      })
      const port = yield* Effect.acquireRelease(
        Effect.async<number>((resume) =>
          void server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
        ),
        () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const result = yield* Effect.promise(() => runLoad(port, { method: "POST", path: "/x", body: "{\"target\":\"8.8.8.8\"}" }, 4, 300))
      expect(result.errors).toBe(0)
      expect(result.requests).toBeGreaterThan(4)
      expect(result.statuses).toEqual({ 400: result.requests })
      expect(seen.size).toBe(4)
      expect(serialise(port, { method: "GET", path: "/health" }).toString()).toBe(
        `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`
      )
    }), 10_000)
})
