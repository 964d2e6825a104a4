import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { formatEvent } from "../../src/http/sse.js"
import { authPatch, keys, startServer } from "./fakes.js"

describe("GET /events", () => {
  it("formats one event per SSE frame", () => {
    expect(formatEvent({ type: "tool.disabled", tool: "NmapTool", timestamp: "2024-01-15T10:30:00Z" })).toBe(
      "event: tool.disabled\ndata: {\"type\":\"tool.disabled\",\"tool\":\"NmapTool\",\"timestamp\":\"2024-01-15T10:30:00Z\"}\n\n"
    )
  })

  it.scopedLive("streams published events to a connected client", () =>
    Effect.gen(function*() {
      const { base, events } = yield* startServer(authPatch)
      const abort = new AbortController()
      yield* Effect.addFinalizer(() => Effect.sync(() => abort.abort()))
      const response = yield* Effect.promise(() =>
        fetch(`${base}/events`, { headers: { authorization: `Bearer ${keys.admin}` }, signal: abort.signal })
      )
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toContain("text/event-stream")
      const reader = response.body!.getReader()
      const decoder = new TextDecoder()
      let received = ""
      const readUntil = (needle: string) =>
        Effect.promise(async () => {
          while (!received.includes(needle)) {
            const { done, value } = await reader.read()
            if (done) break
            received += decoder.decode(value, { stream: true })
          }
          return received
        })
      yield* readUntil(": connected")
      yield* events.publish({ type: "breaker.transition", tool: "NmapTool", from: "CLOSED", to: "OPEN" })
      const text = yield* readUntil("event: breaker.transition").pipe(Effect.timeout("10 seconds"))
      const frame = text.split("\n\n").find((part) => part.startsWith("event: breaker.transition"))
      const data = JSON.parse(frame!.split("\ndata: ")[1]!)
      expect(data).toMatchObject({ type: "breaker.transition", tool: "NmapTool", from: "CLOSED", to: "OPEN" })
      expect(typeof data.timestamp).toBe("string")
    }), 20_000)
})
