import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { auditFieldsAsAnnotations } from "../../src/observability/Logger.js"

const capture = (format: Logger.Logger<unknown, string>, effect: Effect.Effect<void>, flat = format === Logger.logfmtLogger) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.map(auditFieldsAsAnnotations(format, flat), (line) => {
      lines.push(line)
    })
    yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return lines
  })

const auditLine = JSON.stringify({ caller_id: "stdio", tool: "NmapTool", argv: ["nmap", "-n", "127.0.0.1"], decision: "allowed" })

describe("the log's audit lines", () => {
  it.effect("logfmt: the audit fields are the entry's own keys, not JSON quoted inside message", () =>
    Effect.gen(function*() {
      const [line] = yield* capture(Logger.logfmtLogger, Effect.logInfo(auditLine).pipe(Effect.annotateLogs("audit", true)))
      expect(line).toContain("message=audit")
      expect(line).toContain("caller_id=stdio")
      expect(line).toContain("tool=NmapTool")
      expect(line).toContain("decision=allowed")
      expect(line).toContain("argv=\"nmap -n 127.0.0.1\"")
      expect(line).not.toContain("\\\"")
    }))

  it.effect("json: the audit fields are members, not a string", () =>
    Effect.gen(function*() {
      const [line] = yield* capture(Logger.jsonLogger, Effect.logInfo(auditLine).pipe(Effect.annotateLogs("audit", true)))
      const entry = JSON.parse(line!) as { message: unknown; annotations: Record<string, unknown> }
      expect(entry.message).toBe("audit")
      expect(entry.annotations).toMatchObject({ audit: true, tool: "NmapTool", argv: ["nmap", "-n", "127.0.0.1"] })
    }))

  it.effect("other messages are left as they are", () =>
    Effect.gen(function*() {
      const [line] = yield* capture(Logger.logfmtLogger, Effect.logInfo("{not an audit line}"))
      expect(line).toContain("message=\"{not an audit line}\"")
    }))
})
