import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { request } from "node:http"
import { join } from "node:path"
import { shimmedBinaries } from "../attack/cases.js"
import { eventually, executeHttp, httpRequest, startHttpServer } from "../support/server.js"
import { loggingShims, tempDir, writeShim } from "../support/shims.js"

/**
 * Issue 13 item 19: SIGTERM to the built server while one call runs and
 * another waits for its slot. During the drain `/health` is 503 `draining`,
 * the waiting call is turned away with the typed body instead of starting,
 * new MCP sessions and calls are refused with 503, `/events` clients get a
 * last `server.shutdown` event and a clean end; the run still going when
 * the grace period ends is killed and answers 503 with the typed body.
 */

const GRACE_SECONDS = 3

const version = (name: string) => `if [ "$1" = "--version" ]; then echo "${name} 1.0"; exit 0; fi`

interface Stream {
  readonly text: () => string
  /** How the stream ended: `end` (a complete response), or the error or abort that cut it. */
  readonly ended: Promise<string>
}

/** GET /events, read until the server ends it. */
const events = (port: number) =>
  Effect.async<Stream>((resume) => {
    let text = ""
    const req = request({ host: "127.0.0.1", port, path: "/events", agent: false }, (res) => {
      const ended = new Promise<string>((done) => {
        res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")))
        res.on("end", () => done("end"))
        res.on("aborted", () => done("aborted"))
        res.on("error", (error) => done(`error: ${error.message}`))
      })
      resume(Effect.succeed({ text: () => text, ended }))
    })
    req.on("error", () => undefined)
    req.end()
  })

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "shutdown-test", version: "1.0.0" } }
})

describe("SIGTERM to the built server", () => {
  it.scopedLive(
    "drains: health says draining, the waiting call and new work are refused, SSE ends cleanly, the killed run answers 503",
    () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("mcp-shutdown")
        loggingShims(dir, shimmedBinaries)
        const pidFile = join(dir, "hang.pid")
        const hang = writeShim(dir, "hang", `${version("hang")}\necho $$ >> '${pidFile}'\ntrap '' TERM\nsleep 300`)
        const server = yield* startHttpServer({
          path: dir,
          env: {
            MCP_SECURITY_ALLOWED_TARGETS: "127.0.0.1/32",
            MCP_SERVER_SHUTDOWN_GRACE_PERIOD: String(GRACE_SECONDS),
            MCP_SECURITY_KILL_GRACE_SECONDS: "1",
            MCP_SECURITY_AUDIT_LOG_PATH: join(dir, "audit.log"),
            MCP_CUSTOM_TOOLS: JSON.stringify([
              { name: "Hang", description: "Hang shim", binary: hang, flags: [], trusted_script: true, concurrency: 1, timeout: 120 }
            ])
          }
        })
        const sse = yield* events(server.port)
        yield* eventually("the SSE stream is open", Effect.sync(() => sse.text().includes(": connected")))
        const running = yield* Effect.fork(executeHttp(server.port, "Hang", { target: "127.0.0.1" }))
        yield* eventually("the first call runs", Effect.sync(() => existsSync(pidFile)))
        const waiting = yield* Effect.fork(executeHttp(server.port, "Hang", { target: "127.0.0.1" }))
        yield* eventually(
          "the second call waits for the slot",
          Effect.sync(() => sse.text().split("event: execution.started").length - 1 === 2)
        )

        server.child.kill("SIGTERM")

        const turnedAway = yield* Fiber.join(waiting)
        expect(turnedAway.status).toBe(503)
        expect(turnedAway.body.detail).toMatchObject({ _tag: "ToolUnavailable", tool: "Hang" })
        expect(turnedAway.body.detail.message).toMatch(/shutting down: this call was still waiting for a free slot and was not started/)
        const health = yield* httpRequest(server.port, "GET", "/health")
        expect([health.status, health.body.status]).toEqual([503, "draining"])
        const late = yield* executeHttp(server.port, "Hang", { target: "127.0.0.1" })
        expect([late.status, late.body.detail._tag]).toEqual([503, "ToolUnavailable"])
        expect(late.body.detail.message).toMatch(/accepts no new calls/)
        const session = yield* httpRequest(server.port, "POST", "/mcp", {
          body: initialize,
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" }
        })
        expect(session.status).toBe(503)
        expect(session.body).toMatchObject({ jsonrpc: "2.0", error: { code: -32000 }, id: null })
        expect(session.body.error.message).toMatch(/shutting down and opens no new MCP sessions/)
        expect(yield* Effect.promise(() => sse.ended)).toBe("end")
        expect(sse.text()).toMatch(/event: server\.shutdown\ndata: \{"type":"server\.shutdown","reason":"SIGTERM"/)

        const killed = yield* Fiber.join(running)
        expect(killed.status).toBe(503)
        expect(killed.body.detail).toMatchObject({ _tag: "ToolUnavailable", tool: "Hang" })
        expect(killed.body.detail.message).toMatch(/still running when the shutdown grace period .* ended, so its process was killed/)
        const exit = yield* Effect.promise(() => server.exited).pipe(Effect.timeout(Duration.seconds(20)))
        expect(exit.code).toBe(0)
        // Only the first call ever ran.
        expect(readFileSync(pidFile, "utf8").trim().split("\n")).toHaveLength(1)
      }),
    60_000
  )
})
