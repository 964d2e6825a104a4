import { describe, expect, it } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { request } from "node:http"
import type { Socket } from "node:net"
import { addressKey } from "../../src/http/HttpServerLive.js"
import { idleConnections, startServer } from "./fakes.js"

/**
 * The connection limit and the client timeouts of the Node server, from
 * `server.max_connections`, `server.headers_timeout` and
 * `server.request_timeout`.
 */

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: any
  /** How the connection ended after the answer: a clean close, or an error such as a reset. */
  readonly closed: "clean" | string
}

/** GET `path` on a connection of its own (from `localAddress`); resolves once the server has closed it, or at once for a kept-alive one. */
const get = (port: number, path: string, localAddress = "127.0.0.1") =>
  Effect.async<Answer, Error>((resume) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, localAddress }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk) => (text += chunk))
      res.on("end", () => {
        const answer = { status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) }
        if (res.headers["connection"] !== "close") return resume(Effect.succeed({ ...answer, closed: "clean" }))
        let error: string | undefined
        req.socket?.once("error", (e) => (error = e.message))
        req.socket?.once("close", () => resume(Effect.succeed({ ...answer, closed: error ?? "clean" })))
      })
    })
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end()
  })

/** Resolves when the server closes `socket` (read to its end: a paused socket never sees the close). */
const closedByServer = (socket: Socket) =>
  Effect.async<void>((resume) => {
    socket.once("close", () => resume(Effect.void))
    socket.resume()
  })

describe("server.max_connections", () => {
  it.scopedLive("a connection over the limit is answered 503 with Retry-After and the typed body, then closed cleanly", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer({ server: { max_connections: 2 } })
      const answer = yield* Effect.scoped(Effect.zipRight(idleConnections(port, 2), get(port, "/health")))
      expect(answer.status).toBe(503)
      expect(answer.headers["retry-after"]).toBe("1")
      expect(answer.headers["connection"]).toBe("close")
      expect(answer.body).toEqual({
        detail: {
          _tag: "TooManyConnections",
          limit: 2,
          message: "The server has 2 open connections (server.max_connections); retry shortly",
          retry_after: 1
        }
      })
      expect(answer.closed).toBe("clean")
      // Once the server has seen the idle connections go, the next one is served again.
      const served = yield* get(port, "/health").pipe(
        Effect.filterOrFail((reply) => reply.status === 200, () => new Error("still over the limit")),
        Effect.retry(Schedule.spaced("10 millis"))
      )
      expect(served.body.status).toBe("healthy")
    }))

  it.scopedLive("in a burst of many more connections than the limit, every request is answered and none is reset", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer({ server: { max_connections: 4 } })
      const answers = yield* Effect.forEach(Array.from({ length: 60 }), () => get(port, "/tools"), { concurrency: "unbounded" })
      expect(answers.map((answer) => answer.closed).filter((closed) => closed !== "clean")).toEqual([])
      const statuses = new Set(answers.map((answer) => answer.status))
      expect([...statuses].filter((status) => status !== 200 && status !== 503)).toEqual([])
      expect(answers.filter((answer) => answer.status === 503).every((answer) => answer.body.detail._tag === "TooManyConnections")).toBe(
        true
      )
    }))

  it.scopedLive(
    "item 12 as filed: 1,000 concurrent calls under the shipped limits are all answered, none reset",
    () =>
      Effect.gen(function*() {
        const { port } = yield* startServer()
        const answers = yield* Effect.forEach(Array.from({ length: 1000 }), () => Effect.either(get(port, "/tools")), {
          concurrency: "unbounded"
        })
        const failures = answers.flatMap((answer) => (answer._tag === "Left" ? [answer.left.message] : []))
        expect(failures).toEqual([])
        const replies = answers.flatMap((answer) => (answer._tag === "Right" ? [answer.right] : []))
        expect(replies.filter((reply) => reply.closed !== "clean")).toEqual([])
        expect(replies.filter((reply) => reply.status !== 200 && reply.body?.detail?._tag !== "TooManyConnections")).toEqual([])
        expect(replies.filter((reply) => reply.status === 503).every((reply) => reply.headers["retry-after"] === "1")).toBe(true)
      }),
    60_000
  )
})

describe("item 11: server.max_connections_per_address", () => {
  it.scopedLive("one address's connections never fill the server's: past its cap it gets 503, another address is served", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer({ server: { max_connections: 10, max_connections_per_address: 2 } })
      const answer = yield* Effect.scoped(
        Effect.gen(function*() {
          yield* idleConnections(port, 2)
          const other = yield* get(port, "/health", "127.0.0.2")
          expect(other.status).toBe(200)
          return yield* get(port, "/health")
        })
      )
      expect(answer.status).toBe(503)
      expect(answer.headers["retry-after"]).toBe("1")
      expect(answer.body.detail).toMatchObject({ _tag: "TooManyConnections", limit: 2 })
      expect(answer.body.detail.message).toMatch(
        /^127\.0\.0\.1 has 2 open connections to this server \(server\.max_connections_per_address\)/
      )
      expect(answer.closed).toBe("clean")
    }))

  it.scopedLive("connections refused for their address do not count towards the server's limit: others are still served", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer({ server: { max_connections: 4, max_connections_per_address: 2 } })
      const answer = yield* Effect.scoped(
        Effect.gen(function*() {
          // 2 served and 6 refused from 127.0.0.1, all idle: only the 2 count towards the server's 4.
          yield* idleConnections(port, 8)
          return yield* get(port, "/health", "127.0.0.2")
        })
      )
      expect(answer.status).toBe(200)
    }))

  it("counts IPv4-mapped clients as IPv4 and IPv6 clients by their /64", () => {
    expect(addressKey("::ffff:127.0.0.1")).toBe("127.0.0.1")
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe(addressKey("2001:db8:1:2:ffff::9"))
    expect(addressKey("2001:db8:1:2::1")).not.toBe(addressKey("2001:db8:1:3::1"))
    expect(addressKey(undefined)).toBe("unknown")
  })
})

describe("client timeouts", () => {
  it.scopedLive("a client that never finishes its headers is dropped after server.headers_timeout", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer({ server: { headers_timeout: 0.5, request_timeout: 5 } })
      const [socket] = yield* idleConnections(port, 1)
      socket!.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: a")
      // Bounded only by the test's timeout: a server that never drops it fails the test.
      yield* closedByServer(socket!)
    }))

  it.scopedLive("a client that never finishes its body is dropped after server.request_timeout", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer({ server: { headers_timeout: 0.5, request_timeout: 1 } })
      const [socket] = yield* idleConnections(port, 1)
      let received = ""
      socket!.on("data", (chunk) => (received += chunk.toString("utf8")))
      socket!.write(
        "POST /tools/NmapTool/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ta"
      )
      yield* closedByServer(socket!)
      expect(received).not.toContain("200 OK")
    }))
})
