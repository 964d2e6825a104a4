import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { startServer } from "./fakes.js"

/** Issue 13 item 19, in-process: what HTTP clients see once the server drains. */

/** GET /events until the server ends the stream; what it sent, and whether it ended cleanly. */
const readEvents = (base: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}/events`)
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return { text, ended: "clean" }
        text += decoder.decode(value, { stream: true })
      }
    } catch (error) {
      return { text, ended: String(error) }
    }
  })

describe("a draining server", () => {
  it.scopedLive(
    "ends /events streams with a last server.shutdown event; a client connecting meanwhile gets it at once",
    () =>
      Effect.gen(function*() {
        const { base, events, gate } = yield* startServer()
        const open = yield* Effect.fork(readEvents(base))
        yield* Effect.sleep("200 millis")
        yield* events.publish({ type: "server.shutdown", reason: "SIGTERM" })
        const first = yield* Fiber.join(open).pipe(Effect.timeout("10 seconds"))
        expect(first.ended).toBe("clean")
        expect(first.text).toMatch(/event: server\.shutdown\ndata: \{"type":"server\.shutdown","reason":"SIGTERM"/)
        // Draining: a late subscriber would wait forever for an event already published.
        yield* Effect.fork(gate.drain(Duration.seconds(1)))
        const late = yield* readEvents(base).pipe(Effect.timeout("10 seconds"))
        expect(late.ended).toBe("clean")
        expect(late.text).toMatch(/event: server\.shutdown\ndata: \{"type":"server\.shutdown","reason":"the server is draining"/)
      }),
    20_000
  )

  it.scopedLive("answers /health with 503 draining and refuses new MCP sessions with a JSON-RPC error", () =>
    Effect.gen(function*() {
      const { base, gate } = yield* startServer()
      expect((yield* Effect.promise(() => fetch(`${base}/health`))).status).toBe(200)
      yield* Effect.fork(gate.drain(Duration.seconds(1)))
      yield* Effect.sleep("50 millis")
      const health = yield* Effect.promise(() => fetch(`${base}/health`).then(async (r) => ({ status: r.status, body: await r.json() })))
      expect([health.status, health.body.status]).toEqual([503, "draining"])
      const session = yield* Effect.promise(() =>
        fetch(`${base}/mcp`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "initialize",
            params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } }
          })
        }).then(async (r) => ({ status: r.status, body: await r.json() }))
      )
      expect(session.status).toBe(503)
      expect(session.body.error.message).toMatch(/shutting down and opens no new MCP sessions/)
    }))
})
