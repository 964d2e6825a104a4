import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, FiberId, FiberRefs, HashMap, List, Logger, LogLevel, LogSpan } from "effect"
import {
  auditFieldsAsAnnotations,
  AuditMessage,
  logAudit,
  logAuditBatch,
  logfmtLine,
  splitAuditBatches
} from "../../src/observability/Logger.js"

const logfmt = Logger.make(logfmtLine)

const capture = (format: Logger.Logger<unknown, string>, effect: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.map(format === logfmt ? logfmt : auditFieldsAsAnnotations(format), (line) => {
      lines.push(line)
    })
    yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return lines
  })

const auditLine = JSON.stringify({ caller_id: "stdio", tool: "NmapTool", argv: ["nmap", "-n", "127.0.0.1"], decision: "allowed" })

describe("the log's audit lines", () => {
  it.effect("logfmt: the audit fields are the entry's own keys, not JSON quoted inside message", () =>
    Effect.gen(function*() {
      const [line] = yield* capture(logfmt, logAudit(auditLine))
      expect(line).toContain("message=audit audit=true")
      expect(line).toContain("caller_id=stdio")
      expect(line).toContain("tool=NmapTool")
      expect(line).toContain("decision=allowed")
      expect(line).toContain("argv=\"nmap -n 127.0.0.1\"")
      expect(line).not.toContain("\\\"")
    }))

  it.effect("json: the audit fields are members, not a string", () =>
    Effect.gen(function*() {
      const [line] = yield* capture(Logger.jsonLogger, logAudit(auditLine))
      const entry = JSON.parse(line!) as { message: unknown; annotations: Record<string, unknown> }
      expect(entry.message).toBe("audit")
      expect(entry.annotations).toMatchObject({ audit: true, tool: "NmapTool", argv: ["nmap", "-n", "127.0.0.1"] })
    }))

  it.effect("a batch: one entry whose text is each line as logAudit would write it (logfmt), one entry per line (json)", () =>
    Effect.gen(function*() {
      const second = JSON.stringify({ caller_id: "k", tool: "TrueTool", argv: [], decision: "rejected:TargetRejected" })
      const strip = (line: string) => line.replace(/^timestamp=\S+ level=\S+ fiber=\S+ /, "")
      const [batch, ...rest] = yield* capture(logfmt, logAuditBatch([auditLine + "\n", second]))
      expect(rest).toEqual([])
      const one = [...yield* capture(logfmt, logAudit(auditLine)), ...yield* capture(logfmt, logAudit(second))]
      expect(batch!.split("\n").map(strip)).toEqual(one.map(strip))
      const json: Array<string> = []
      const logger = splitAuditBatches(Logger.map(auditFieldsAsAnnotations(Logger.jsonLogger), (line) => {
        json.push(line)
      }))
      yield* logAuditBatch([auditLine, second]).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      expect(json.map((l) => (JSON.parse(l) as { annotations: { tool: string } }).annotations.tool)).toEqual(["NmapTool", "TrueTool"])
    }))

  it.effect("a line handed over with its fields is logged exactly as its text alone would be", () =>
    Effect.gen(function*() {
      const text = JSON.stringify({ caller_id: "k", target: "a \"b\" = c", argv: ["x", "y"], duration_seconds: 0.5, error_tag: null })
      const strip = (line: string) => line.replace(/^timestamp=\S+ level=\S+ fiber=\S+ /, "")
      const handed = new AuditMessage(text, JSON.parse(text) as Record<string, unknown>)
      const cases: Array<readonly [Effect.Effect<void>, Effect.Effect<void>]> = [
        [logAudit(text), logAudit(handed)],
        [logAuditBatch([text, "not json", text]), logAuditBatch([handed, "not json", handed])]
      ]
      for (const [alone, given] of cases) {
        expect((yield* capture(logfmt, given)).map(strip)).toEqual((yield* capture(logfmt, alone)).map(strip))
      }
      const [batch] = yield* capture(logfmt, logAuditBatch([handed, "not json", text]))
      const each = yield* Effect.forEach([handed, "not json", text], (m) => capture(logfmt, logAudit(m)))
      expect(batch!.split("\n").map(strip)).toEqual(each.flat().map(strip))
      const json = (line: string) => (JSON.parse(line) as { annotations: unknown }).annotations
      expect((yield* capture(Logger.jsonLogger, logAudit(handed))).map(json)).toEqual(
        (yield* capture(Logger.jsonLogger, logAudit(text))).map(json)
      )
    }))

  it.effect("other messages are left as they are", () =>
    Effect.gen(function*() {
      const [line] = yield* capture(logfmt, Effect.logInfo("{not an audit line}"))
      expect(line).toContain("message=\"{not an audit line}\"")
    }))

  it("logfmt: any other entry is the line Effect's logfmtLogger writes", () => {
    const options: Logger.Logger.Options<unknown> = {
      fiberId: FiberId.runtime(7, 0),
      logLevel: LogLevel.Warning,
      message: ["tool ready", { path: "/usr/bin/nmap" }, 3],
      cause: Cause.fail("boom"),
      context: FiberRefs.empty(),
      spans: List.make(LogSpan.make("run span", 1_000)),
      annotations: HashMap.make(["path", "/usr/bin/nmap sh"], ["version", null], ["n=1", 2]),
      date: new Date(1_500)
    }
    expect(logfmtLine(options)).toBe(Logger.logfmtLogger.log(options))
    const plain = { ...options, message: "started", cause: Cause.empty, spans: List.empty(), annotations: HashMap.empty() }
    expect(logfmtLine(plain)).toBe(Logger.logfmtLogger.log(plain))
  })
})
