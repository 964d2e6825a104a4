import { expect, layer } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { connect } from "node:net"
import { pathIssue } from "../../src/http/normalPath.js"
import { executeHttp, httpRequest, type ServerProcess, startHttpServer } from "../support/server.js"
import { loggingShims, readShimLog, tempDir } from "../support/shims.js"
import { type Allowed, ALLOWED_TARGETS, allowedCalls, attacks, permittedTokens, shimmedBinaries, unexpectedCalls } from "./cases.js"

const statusOf: Readonly<Record<string, number>> = {
  InvalidInput: 400,
  TargetRejected: 400,
  ArgumentRejected: 400,
  IntrusiveNotAllowed: 403,
  ToolNotFound: 404
}

const MAX_BODY = 16384

/** Seconds a client may take over its headers: short, so the slowloris test needs no long wait. */
const HEADERS_TIMEOUT = 1

class Target
  extends Context.Tag("test/attack/http/Target")<Target, ServerProcess & { readonly log: string; readonly made: Array<Allowed> }>()
{}

const TargetLive = Layer.scoped(
  Target,
  Effect.gen(function*() {
    const dir = yield* tempDir("http-attack")
    const { log } = loggingShims(dir, shimmedBinaries)
    const server = yield* startHttpServer({
      path: dir,
      env: {
        MCP_SECURITY_ALLOWED_TARGETS: ALLOWED_TARGETS,
        MCP_RATE_LIMIT_ENABLED: "false",
        MCP_SERVER_MAX_BODY_BYTES: String(MAX_BODY),
        MCP_SERVER_HEADERS_TIMEOUT: String(HEADERS_TIMEOUT)
      }
    })
    return { ...server, log, made: [] }
  })
)

/** A client that sends a request line and then one header byte per `interval`, never finishing. */
const slowClient = (port: number, interval: Duration.Duration) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const socket = connect(port, "127.0.0.1")
      socket.on("error", () => undefined)
      socket.write("POST /tools/NmapTool/execute HTTP/1.1\r\nHost: 127.0.0.1\r\n")
      const header = "X-Slow: " + "a".repeat(1000)
      let sent = 0
      const timer = setInterval(() => socket.write(header[sent++ % header.length]!), Duration.toMillis(interval))
      return { socket, timer }
    }),
    ({ socket, timer }) =>
      Effect.sync(() => {
        clearInterval(timer)
        socket.destroy()
      })
  )

layer(TargetLive, { excludeTestServices: true, timeout: "30 seconds" })("attacks over the REST API", (it) => {
  it.effect.each(attacks)("$name is refused with $tag", (attack) =>
    Effect.gen(function*() {
      const { port } = yield* Target
      const reply = yield* executeHttp(port, attack.tool, attack.input)
      // A tool name that cannot be written in a path in normal form (../x is ..%2Fx) never reaches the router (item 2).
      const tag = pathIssue(`/tools/${encodeURIComponent(attack.tool)}/execute`) === undefined ? attack.tag : "InvalidInput"
      expect(reply.body?.detail?._tag).toBe(tag)
      expect(reply.status).toBe(statusOf[tag])
    }))

  it.effect.each(allowedCalls)("$tool $input runs with exactly the validated argv", (allowed) =>
    Effect.gen(function*() {
      const server = yield* Target
      const reply = yield* executeHttp(server.port, allowed.tool, allowed.input)
      server.made.push(allowed)
      expect(reply.status).toBe(200)
      expect(reply.body.metadata.argv.slice(-allowed.argv.length)).toEqual(allowed.argv)
    }))

  it.effect("malformed JSON is a 400 InvalidInput", () =>
    Effect.gen(function*() {
      const { port } = yield* Target
      for (const body of ["{", "{\"target\": \"127.0.0.1\",}", "\u0000", "[".repeat(5000)]) {
        const reply = yield* httpRequest(port, "POST", "/tools/NmapTool/execute", { body, headers: { "content-type": "application/json" } })
        expect(reply.status).toBe(400)
        expect(reply.body.detail._tag).toBe("InvalidInput")
      }
    }))

  it.effect("a body over server.max_body_bytes is a 413, declared or streamed", () =>
    Effect.gen(function*() {
      const { port } = yield* Target
      const huge = JSON.stringify({ target: "127.0.0.1", args: Array.from({ length: 20000 }, () => "-sV") })
      const declared = yield* httpRequest(port, "POST", "/tools/NmapTool/execute", {
        body: huge,
        headers: { "content-type": "application/json" }
      })
      expect(declared.status).toBe(413)
      expect(declared.body.detail._tag).toBe("PayloadTooLarge")
      const chunked = yield* httpRequest(port, "POST", "/tools/NmapTool/execute", {
        body: huge,
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" }
      })
      expect(chunked.status).toBe(413)
    }))

  it.effect("a body that is not declared JSON is a 415", () =>
    Effect.gen(function*() {
      const { port } = yield* Target
      const body = JSON.stringify({ target: "127.0.0.1" })
      for (
        const headers of [{}, { "content-type": "text/plain" }, { "content-type": "application/x-www-form-urlencoded" }, {
          "content-type": "application/jsonx"
        }]
      ) {
        const reply = yield* httpRequest(port, "POST", "/tools/NmapTool/execute", { body, headers })
        expect(reply.status).toBe(415)
        expect(reply.body.detail._tag).toBe("UnsupportedMediaType")
      }
    }))

  it.effect("while slow clients trickle headers, other clients are served", () =>
    Effect.scoped(Effect.gen(function*() {
      const { port } = yield* Target
      yield* Effect.forEach(Array.from({ length: 20 }), () => slowClient(port, Duration.millis(100)))
      yield* Effect.sleep(Duration.millis(HEADERS_TIMEOUT * 1000 / 4))
      const replies = yield* Effect.forEach(Array.from({ length: 20 }), () => httpRequest(port, "GET", "/health"), { concurrency: 5 })
      // Any health verdict is an answer: a loaded CI machine can make /health report degraded (207).
      expect(replies.map((r) => r.status).every((status) => [200, 207, 503].includes(status))).toBe(true)
      const list = yield* httpRequest(port, "GET", "/tools")
      expect(list.status).toBe(200)
    })))

  it.effect("a client that never finishes its headers is disconnected by the server after server.headers_timeout", () =>
    Effect.scoped(Effect.gen(function*() {
      const { port } = yield* Target
      const { socket } = yield* slowClient(port, Duration.millis(100))
      // Far above the timeout, so a loaded machine does not fail the test; the wait ends when the socket closes.
      const closed = yield* Effect.async<boolean>((resume) => {
        socket.once("close", () => resume(Effect.succeed(true)))
      }).pipe(Effect.timeoutTo({ duration: Duration.seconds(HEADERS_TIMEOUT * 10), onTimeout: () => false, onSuccess: (closed) => closed }))
      expect(closed).toBe(true)
    })))

  it.effect("the shims saw only version probes and the allowed calls", () =>
    Effect.gen(function*() {
      const { log, made } = yield* Target
      const calls = readShimLog(log)
      expect(unexpectedCalls(calls, made)).toEqual([])
      const permitted = permittedTokens(made)
      expect(calls.flatMap((c) => c.argv).filter((token) => !permitted.has(token))).toEqual([])
      expect(calls.length).toBe(shimmedBinaries.length + made.length)
    }))
})
