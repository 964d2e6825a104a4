import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { connect } from "node:net"
import { pathIssue } from "../../src/http/normalPath.js"
import { craftedPaths as crafted, normalPaths } from "../support/paths.js"
import { startServer } from "./fakes.js"

/**
 * Issue 13 item 2: one path for every decision. A path the Host/Origin check,
 * its exemptions, a proxy and the router could read differently is refused
 * with 400 before any of them looks at it.
 */

describe("pathIssue", () => {
  it("accepts the API's own paths", () => {
    for (const path of normalPaths) {
      expect(pathIssue(path), path).toBeUndefined()
    }
  })

  it("refuses every spelling that is not the normal form", () => {
    for (const path of [...crafted, "/tools\u0000", "/tools\u00e9", "/tools x", "/tools#x", "/tools|x", "/tools\t"]) {
      expect(pathIssue(path), path).toBeTypeOf("string")
    }
  })
})

interface RawReply {
  readonly status: number
  readonly body: any
}

/** One request with `target` sent byte for byte (node:http refuses to send most of these). */
const rawRequest = (port: number, target: string, host: string) =>
  Effect.async<RawReply>((resume) => {
    const socket = connect(port, "127.0.0.1")
    let text = ""
    socket.on("data", (chunk) => (text += chunk.toString("latin1")))
    socket.on("error", () => undefined)
    socket.on("close", () => {
      const [head = "", body = ""] = text.split("\r\n\r\n")
      let parsed: unknown
      try {
        parsed = JSON.parse(body)
      } catch {
        parsed = undefined
      }
      resume(Effect.succeed({ status: Number(head.slice(9, 12)), body: parsed }))
    })
    socket.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, "latin1"))
  })

describe("HTTP paths not in normal form", () => {
  it.scopedLive("are refused with 400 InvalidInput before the Host check and routing, from any Host", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer()
      for (const host of [`127.0.0.1:${port}`, "evil.example"]) {
        for (const target of crafted) {
          const reply = yield* rawRequest(port, target, host)
          expect([target, host, reply.status, reply.body?.detail?._tag]).toEqual([target, host, 400, "InvalidInput"])
          expect(reply.body.detail.message).toMatch(/not in normal form/)
        }
      }
    }))

  it.scopedLive("the same routes in normal form are served, and exempt only where the path is exactly a probe", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer()
      expect((yield* rawRequest(port, "/tools", `127.0.0.1:${port}`)).status).toBe(200)
      expect((yield* rawRequest(port, "/health", "evil.example")).status).toBe(200)
      expect((yield* rawRequest(port, "/tools", "evil.example")).status).toBe(403)
    }))

  it.scopedLive("routing is case-sensitive: another case is another (unknown) path, never an exempt probe", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer()
      const local = `127.0.0.1:${port}`
      expect((yield* rawRequest(port, "/TOOLS", local)).status).toBe(404)
      expect((yield* rawRequest(port, "/Health", local)).status).toBe(404)
      expect((yield* rawRequest(port, "/METRICS", "evil.example")).status).toBe(403)
    }))
})
