import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { request as httpRequest } from "node:http"
import { CONSOLE_HEADERS } from "../../src/http/console.js"
import { authPatch, startServer } from "../http/fakes.js"

/** One request with exactly these headers (fetch would not send a forged Host). */
const get = (port: number, path: string, headers: Record<string, string> = {}) =>
  Effect.async<{ readonly status: number; readonly headers: Record<string, unknown>; readonly body: string }>((resume) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
      let body = ""
      res.setEncoding("utf8").on("data", (chunk) => (body += chunk))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, body })))
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end()
  })

describe("GET /ui (needs `npm run build`)", () => {
  it.scopedLive("serves the page and its two files with their types, the CSP and an ETag; no key needed", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer(authPatch)
      const page = yield* get(port, "/ui")
      expect(page.status).toBe(200)
      expect(page.headers).toMatchObject({ "content-type": "text/html; charset=utf-8", ...CONSOLE_HEADERS })
      expect(page.body).toContain("<script type=\"module\" src=\"/ui/console.js\"></script>")
      // No inline script or style: everything the page runs is one of the two files.
      expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\son\w+=/)
      for (const [path, type] of [["/ui/console.js", "text/javascript"], ["/ui/console.css", "text/css"]] as const) {
        const file = yield* get(port, path)
        expect([path, file.status, file.headers["content-type"]]).toEqual([path, 200, `${type}; charset=utf-8`])
        const again = yield* get(port, path, { "if-none-match": String(file.headers["etag"]) })
        expect([path, again.status, again.body]).toEqual([path, 304, ""])
      }
    }), 30_000)

  it.scopedLive("is under the Host/Origin check and the normal-path rule; nothing else under /ui exists", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer(authPatch)
      expect((yield* get(port, "/ui", { host: "evil.example:80" })).status).toBe(403)
      expect((yield* get(port, "/ui", { origin: "http://evil.example" })).status).toBe(403)
      expect((yield* get(port, "/ui/")).status).toBe(400)
      expect((yield* get(port, "/ui/%2E%2E/config")).status).toBe(400)
      expect((yield* get(port, "/ui/../config")).status).toBe(400)
      expect((yield* get(port, "/ui/index.html")).status).toBe(404)
      expect((yield* get(port, "/ui/main.cjs")).status).toBe(404)
    }), 30_000)
})
