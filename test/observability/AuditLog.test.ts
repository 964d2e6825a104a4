import { afterAll, describe, expect, it } from "@effect/vitest"
import { Context, Effect, FastCheck, Layer, Logger, Ref, Schema, SubscriptionRef } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigService, mergeDeep } from "../../src/config/ConfigService.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { type AuditEntry, AuditLine, auditLine, AuditLog, ExecutionLine, redact, rejectionsLine } from "../../src/observability/AuditLog.js"
import { AuditBatch, AuditMessage, isAuditMessage } from "../../src/observability/Logger.js"
import { makeRejectionTallies, OTHER_CLIENTS } from "../../src/observability/rejections.js"

const dir = mkdtempSync(join(tmpdir(), "audit-test-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const configWithPath = (path: string) => Schema.decodeUnknownSync(AppConfig)(mergeDeep(defaults, { security: { audit_log_path: path } }))

/** A ConfigService whose value the test can change, as a hot reload would. */
const mutableConfig = (path: string) =>
  Effect.gen(function*() {
    const ref = yield* SubscriptionRef.make(configWithPath(path))
    const layer = Layer.succeed(ConfigService, { get: SubscriptionRef.get(ref), changes: ref.changes })
    return { layer, setPath: (p: string) => SubscriptionRef.set(ref, configWithPath(p)) }
  })

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  caller: { id: "key-1", transport: "http", address: "127.0.0.1" },
  tool: "NmapTool",
  target: "127.0.0.1",
  resolvedTarget: "127.0.0.1",
  argv: ["nmap", "-n", "-sT", "-p", "22", "127.0.0.1"],
  decision: "allowed",
  outcome: "success",
  durationSeconds: 0.05,
  intrusive: false,
  correlationId: "c-1",
  error: null,
  ...overrides
})

const lines = (path: string) =>
  readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)

describe("audit lines", () => {
  it("hold every field of the attempt", () => {
    const line = auditLine(
      entry({ decision: "rejected:TargetRejected", outcome: "rejected", error: { tag: "TargetRejected", message: "8.8.8.8 not allowed" } }),
      "2024-01-15T10:30:00.000Z"
    )
    expect(line.endsWith("\n")).toBe(true)
    expect(JSON.parse(line)).toEqual({
      kind: "execution",
      timestamp: "2024-01-15T10:30:00.000Z",
      caller_id: "key-1",
      caller_transport: "http",
      caller_address: "127.0.0.1",
      tool: "NmapTool",
      target: "127.0.0.1",
      resolved_target: "127.0.0.1",
      argv: ["nmap", "-n", "-sT", "-p", "22", "127.0.0.1"],
      decision: "rejected:TargetRejected",
      outcome: "rejected",
      duration_seconds: 0.05,
      intrusive: false,
      correlation_id: "c-1",
      execution_id: null,
      error_tag: "TargetRejected",
      error_message: "8.8.8.8 not allowed",
      engagement: null,
      engagement_hash: null,
      approval_id: null,
      requested_by: null,
      decided_by: null
    })
  })

  it.prop("are the schema's own encoding of the line, field by field in its order", {
    text: FastCheck.string({ unit: "binary" }),
    maybe: FastCheck.option(FastCheck.string(), { nil: null }),
    argv: FastCheck.array(FastCheck.string({ unit: "grapheme" }), { maxLength: 4 }),
    seconds: FastCheck.double({ noNaN: true, noDefaultInfinity: true }),
    flag: FastCheck.boolean()
  }, ({ argv, flag, maybe, seconds, text }) => {
    const line = auditLine(
      entry({
        caller: { id: text, transport: "http", ...(maybe === null ? {} : { address: maybe }) },
        target: text,
        resolvedTarget: maybe,
        argv,
        decision: flag ? "allowed" : `rejected:${text}`,
        durationSeconds: seconds,
        intrusive: flag,
        executionId: maybe ?? undefined,
        error: maybe === null ? null : { tag: text, message: maybe },
        engagement: maybe === null ? null : { name: maybe, hash: text },
        approval: flag ? { id: text, requestedBy: text, decidedBy: maybe } : null
      }),
      "2024-01-15T10:30:00.000Z"
    )
    // The line's text, escapes of line separators aside, is what the schema would write for what it holds.
    const schemaText = Schema.parseJson(ExecutionLine)
    const json = line.trimEnd()
    expect(Schema.encodeSync(schemaText)(Schema.decodeUnknownSync(schemaText)(json))).toBe(JSON.stringify(JSON.parse(json)))
  })

  it("redact bearer and basic credentials wherever they appear", () => {
    expect(redact("Authorization: Bearer abc.DEF-123_~+/= rest")).toBe("Authorization: Bearer [REDACTED] rest")
    expect(redact("basic dXNlcjpwYXNz")).toBe("basic [REDACTED]")
    const line = auditLine(entry({ target: "Bearer sk-secret-token", error: { tag: "InvalidInput", message: "bad Bearer xyz" } }), "t")
    expect(line).not.toContain("sk-secret-token")
    expect(line).not.toContain("xyz")
    expect(JSON.parse(line).target).toBe("Bearer [REDACTED]")
  })

  it("writes a line exactly as redacting and escaping its JSON would, whether or not there is anything to rewrite", () => {
    const texts = ["10.0.0.5", "BEARER  tok", "basic\tx", "Basically fine", "\u000basic x", "a\u2028b", "\u0085", "x\u2029 Bearer y", ""]
    const timestamp = "2026-01-01T00:00:00.000Z"
    const escaped = (json: string) => json.replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    const template = JSON.parse(auditLine(entry({ target: "T", error: { tag: "InvalidInput", message: "M" } }), timestamp))
    for (const target of texts) {
      for (const message of texts) {
        const line = auditLine(entry({ target, error: { tag: "InvalidInput", message } }), timestamp)
        const json = JSON.stringify({ ...template, target, error_message: message })
        expect(line).toBe(escaped(redact(json)) + "\n")
      }
    }
  })
})

describe("AuditLog", () => {
  it.scoped("writes 100 concurrent records as 100 whole JSON lines", () =>
    Effect.gen(function*() {
      const path = join(dir, "concurrent", "audit.jsonl")
      const { layer } = yield* mutableConfig(path)
      yield* Effect.gen(function*() {
        const audit = yield* AuditLog
        yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (i) => audit.record(entry({ correlationId: `c-${i}`, intrusive: i % 10 === 0, argv: ["nmap", "x".repeat(5000 + i)] })),
          { concurrency: "unbounded" }
        )
      }).pipe(Effect.provide(AuditLog.layer.pipe(Layer.provide(layer))))
      const written = lines(path)
      expect(written).toHaveLength(100)
      expect(new Set(written.map((l) => l["correlation_id"])).size).toBe(100)
    }), 30_000)

  it.scoped("has an intrusive entry on disk when record returns", () =>
    Effect.gen(function*() {
      const path = join(dir, "intrusive.jsonl")
      const { layer } = yield* mutableConfig(path)
      const audit = Context.get(yield* Layer.build(AuditLog.layer.pipe(Layer.provide(layer))), AuditLog)
      yield* audit.record(entry({ intrusive: true, correlationId: "intrusive-1", argv: ["nmap", "-n", "-A", "127.0.0.1"] }))
      expect(lines(path)).toMatchObject([{ correlation_id: "intrusive-1", intrusive: true, argv: ["nmap", "-n", "-A", "127.0.0.1"] }])
      yield* audit.record(entry({ correlationId: "second" }))
      expect(lines(path).map((l) => l["correlation_id"])).toEqual(["intrusive-1", "second"])
    }))

  it.scoped("moves to a new path when the configuration changes", () =>
    Effect.gen(function*() {
      const first = join(dir, "first.jsonl")
      const second = join(dir, "moved", "second.jsonl")
      const { layer, setPath } = yield* mutableConfig(first)
      const audit = Context.get(yield* Layer.build(AuditLog.layer.pipe(Layer.provide(layer))), AuditLog)
      yield* audit.record(entry({ correlationId: "before" }))
      yield* setPath(second)
      yield* audit.record(entry({ correlationId: "after" }))
      expect(lines(first).map((l) => l["correlation_id"])).toEqual(["before"])
      expect(lines(second).map((l) => l["correlation_id"])).toEqual(["after"])
    }))

  it.scoped("logs the line with an audit annotation when no path is configured", () =>
    Effect.gen(function*() {
      const captured = yield* Ref.make<ReadonlyArray<{ message: unknown; audit: boolean }>>([])
      const capture = Logger.make(({ message }) => {
        Effect.runSync(Ref.update(captured, (xs) => [...xs, { message: String(message), audit: isAuditMessage(message) }]))
      })
      const { layer } = yield* mutableConfig("")
      yield* Effect.flatMap(AuditLog, (a) => a.record(entry({ correlationId: "logged", target: "Bearer leak" }))).pipe(
        Effect.provide(AuditLog.layer.pipe(Layer.provide(layer))),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      const logs = yield* Ref.get(captured)
      expect(logs).toHaveLength(1)
      expect(logs[0]?.audit).toBe(true)
      const message = JSON.stringify(logs[0]?.message)
      expect(message).toContain("logged")
      expect(message).not.toContain("leak")
    }))
  it.scoped("hands the log each line's fields exactly as parsing its text gives them, and none for a redacted line", () =>
    Effect.gen(function*() {
      const messages: Array<AuditMessage> = []
      const capture = Logger.make(({ message }) => {
        const m = Array.isArray(message) ? message[0] : message
        if (m instanceof AuditMessage) messages.push(m)
        if (m instanceof AuditBatch) messages.push(...m.messages)
      })
      const { layer } = yield* mutableConfig("")
      yield* Effect.gen(function*() {
        const audit = yield* AuditLog
        yield* audit.record(entry({ correlationId: "plain", target: "odd\u2028\"text\" = x" }))
        yield* audit.record(entry({ correlationId: "refused", outcome: "rejected", decision: "rejected:TargetRejected", argv: [] }))
        yield* audit.record(entry({ correlationId: "secret", target: "Bearer leak" }))
        yield* audit.flush
      }).pipe(Effect.provide(AuditLog.layer.pipe(Layer.provide(layer))), Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      expect(messages.map((m) => (JSON.parse(m.line) as { correlation_id: string }).correlation_id)).toEqual(["plain", "secret", "refused"])
      for (const m of messages.filter((m) => m.fields !== undefined)) {
        expect(Object.entries(m.fields!)).toEqual(Object.entries(JSON.parse(m.line) as object))
      }
      expect(messages.map((m) => m.fields !== undefined)).toEqual([true, false, true])
    }))
})

describe("rejections lines (issue 13 item 5)", () => {
  it("count one client's rejections past its limit by tool and by reason, each adding up to the count", () => {
    const tallies = makeRejectionTallies()
    const who = { id: "key-1", transport: "http" as const, address: "127.0.0.1" }
    for (let i = 0; i < 5; i++) {
      tallies.add({ caller: who, tool: i < 3 ? "unknown" : "NmapTool", reason: "RateLimited" }, 1_700_000_000_000 + i)
    }
    const [tally] = tallies.take()
    const line = JSON.parse(rejectionsLine(tally!, "2024-01-15T10:30:00.000Z"))
    expect(line).toEqual({
      kind: "rejections",
      timestamp: "2024-01-15T10:30:00.000Z",
      caller_id: "key-1",
      caller_transport: "http",
      caller_address: "127.0.0.1",
      decision: "rejected",
      count: 5,
      by_tool: { unknown: 3, NmapTool: 2 },
      by_reason: { RateLimited: 5 },
      first_at: new Date(1_700_000_000_000).toISOString(),
      last_at: new Date(1_700_000_000_004).toISOString()
    })
    expect(Schema.decodeUnknownEither(AuditLine)(line)._tag).toBe("Right")
    expect(tallies.take()).toEqual([])
  })

  it("keep memory bounded: past maxClients in one interval, the rest share one entry", () => {
    const tallies = makeRejectionTallies(3)
    for (let i = 0; i < 10; i++) tallies.add({ caller: { id: `c${i}`, transport: "http" }, tool: "unknown", reason: "RateLimited" }, 0)
    const taken = tallies.take()
    expect(taken.map((t) => [t.caller.id, t.count])).toEqual([["c0", 1], ["c1", 1], ["c2", 1], [OTHER_CLIENTS, 7]])
  })

  it.scoped("with no path, a plainly refused call's message is the one `write` logs: its text, its fields, the same JSON", () =>
    Effect.gen(function*() {
      const messages: Array<AuditMessage> = []
      const capture = Logger.make(({ message }) => {
        const m = Array.isArray(message) ? message[0] : message
        if (m instanceof AuditBatch) messages.push(...m.messages)
        else if (m instanceof AuditMessage) messages.push(m)
      })
      const { layer } = yield* mutableConfig("")
      const texts = ["8.8.8.8", "Bearer tok", "BASIC x", "a\u2028b", "\u000basic y", "\ud800", "plain words = \"quoted\""]
      yield* Effect.gen(function*() {
        const audit = yield* AuditLog
        const refusals = yield* audit.refusals
        const c = yield* Effect.flatMap(ConfigService, (config) => config.get)
        const refused = (target: string, i: number) =>
          entry({
            correlationId: `r-${i}`,
            target,
            resolvedTarget: null,
            argv: i % 2 === 0 ? [] : [target],
            decision: "rejected:TargetRejected",
            outcome: "rejected",
            intrusive: false,
            error: { tag: "TargetRejected", message: `${target} is refused` }
          })
        for (const [i, target] of texts.entries()) {
          expect(refusals(refused(target, i), c)).toBe(true)
          yield* audit.write(refused(target, i))
        }
        yield* audit.flush
      }).pipe(
        Effect.provide(Layer.merge(AuditLog.layer.pipe(Layer.provide(layer)), layer)),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      const sans = (m: AuditMessage) => ({ line: JSON.parse(m.line), fields: m.fields, json: JSON.parse(JSON.stringify(m)) })
      const timeless = (value: ReturnType<typeof sans>) =>
        JSON.parse(JSON.stringify(value).replace(/"timestamp":"[^"]*"/g, "\"timestamp\":\"t\""))
      expect(messages).toHaveLength(2 * texts.length)
      for (let i = 0; i < texts.length; i++) {
        const [plain, written] = [messages[2 * i]!, messages[2 * i + 1]!]
        expect(plain.line.replace(/"timestamp":"[^"]*"/, "")).toBe(written.line.replace(/"timestamp":"[^"]*"/, ""))
        expect(timeless(sans(plain))).toEqual(timeless(sans(written)))
        expect(Object.keys(plain)).toEqual(Object.keys(written))
        expect(written.line).not.toContain("tok\"")
      }
    }))

  it.scoped("with no path, refusals' lines are logged a batch at a time, a line for each, by flush at the latest", () =>
    Effect.gen(function*() {
      const batches: Array<ReadonlyArray<string>> = []
      const capture = Logger.make(({ message }) => {
        const m = Array.isArray(message) ? message[0] : message
        if (isAuditMessage(m)) batches.push(String(m).split("\n"))
      })
      const { layer } = yield* mutableConfig("")
      yield* Effect.gen(function*() {
        const audit = yield* AuditLog
        const refused = (i: number) =>
          audit.record(entry({ correlationId: `r-${i}`, decision: "rejected:TargetRejected", outcome: "rejected", argv: [] }))
        yield* Effect.forEach([0, 1, 2], refused, { discard: true })
        yield* audit.record(entry({ correlationId: "intrusive", intrusive: true, outcome: "rejected" }))
        expect(batches.map((b) => b.map((l) => (JSON.parse(l) as { correlation_id: string }).correlation_id))).toEqual([["intrusive"]])
        yield* audit.flush
        expect(batches.flat().map((l) => (JSON.parse(l) as { correlation_id: string }).correlation_id)).toEqual([
          "intrusive",
          "r-0",
          "r-1",
          "r-2"
        ])
        expect(batches).toHaveLength(2)
      }).pipe(
        Effect.provide(AuditLog.layer.pipe(Layer.provide(layer))),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
    }))
})
