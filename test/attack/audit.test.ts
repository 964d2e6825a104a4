import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { eventually, executeHttp, type ServerProcess, startHttpServer } from "../support/server.js"
import { tempDir } from "../support/shims.js"

/**
 * The audit log is JSON Lines, and a line is what a log shipper splits on:
 * many split on every Unicode line terminator (Python's splitlines, several
 * shippers), which JSON leaves unescaped inside strings. A caller's target
 * holding U+2028, U+2029 or NEL must not cut its rejection's line in two
 * (one invalid half, one that looks like a line of its own).
 */

class Target extends Context.Tag("test/attack/audit/Target")<Target, ServerProcess & { readonly audit: string }>() {}

const TargetLive = Layer.scoped(
  Target,
  Effect.gen(function*() {
    const dir = yield* tempDir("audit-attack")
    const audit = join(dir, "audit.jsonl")
    const server = yield* startHttpServer({
      env: { MCP_SECURITY_ALLOWED_TARGETS: "127.0.0.0/8", MCP_RATE_LIMIT_ENABLED: "false", MCP_SECURITY_AUDIT_LOG_PATH: audit }
    })
    return { ...server, audit }
  })
)

const FORGED = "{\"kind\":\"execution\",\"decision\":\"allowed\",\"tool\":\"NmapTool\",\"target\":\"8.8.8.8\"}"

layer(TargetLive, { excludeTestServices: true, timeout: "30 seconds" })("the audit log under hostile input", (it) => {
  it.effect("a target with Unicode line terminators stays on its one line", () =>
    Effect.gen(function*() {
      const { audit, port } = yield* Target
      for (const separator of ["\u2028", "\u2029", "\u0085"]) {
        const reply = yield* executeHttp(port, "NmapTool", { target: `127.0.0.1${separator}${FORGED}` })
        expect(reply.status).toBe(400)
      }
      // The file appears with the first batch of lines, a few milliseconds after the replies.
      const text = () => (existsSync(audit) ? readFileSync(audit, "utf8") : "")
      yield* eventually("three rejections audited", Effect.sync(() => text().split("\n").filter((l) => l !== "").length >= 3))
      const lines = text().split(/\r\n|[\n\r\u2028\u2029\u0085]/).filter((line) => line !== "")
      expect(lines).toHaveLength(3)
      for (const line of lines) expect(JSON.parse(line)).toMatchObject({ kind: "execution", decision: "rejected:TargetRejected" })
      expect(lines.map((line) => JSON.parse(line).target)).toEqual(["\u2028", "\u2029", "\u0085"].map((s) => `127.0.0.1${s}${FORGED}`))
    }))
})
