import { describe, expect, it } from "@effect/vitest"
import { Cause, Context, Duration, Effect, Exit, Layer, Logger, Metric, Ref, Schema, type Scope, SubscriptionRef } from "effect"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statfsSync, unlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigService, mergeDeep } from "../../src/config/ConfigService.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { type AuditEntry, AuditLog, type AuditLogService } from "../../src/observability/AuditLog.js"
import { auditFailures, makeAuditWriter } from "../../src/observability/AuditWriter.js"
import { isAuditMessage } from "../../src/observability/Logger.js"

const root = process.geteuid?.() === 0

const scratch: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "audit-writer-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const configFor = (security: Record<string, unknown>) => Schema.decodeUnknownSync(AppConfig)(mergeDeep(defaults, { security }))

interface Captured {
  readonly message: string
  readonly audit: boolean
}

/** A real AuditLog on `path`, with the application log captured. */
const auditAt = (path: string, security: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const ref = yield* SubscriptionRef.make(configFor({ audit_log_path: path, ...security }))
    const captured = yield* Ref.make<ReadonlyArray<Captured>>([])
    const capture = Logger.make(({ message }) => {
      const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
      Effect.runSync(Ref.update(captured, (xs) => [...xs, { message: text, audit: isAuditMessage(message) }]))
    })
    const config = Layer.succeed(ConfigService, { get: SubscriptionRef.get(ref), changes: ref.changes })
    const layer = AuditLog.layer.pipe(Layer.provide(config), Layer.provide(Logger.replace(Logger.defaultLogger, capture)))
    const context = yield* Layer.build(layer)
    return { audit: Context.get(context, AuditLog), logs: Ref.get(captured) }
  })

const entry = (overrides: Partial<AuditEntry> = {}): AuditEntry => ({
  caller: { id: "key-1", transport: "http", address: "127.0.0.1" },
  tool: "NmapTool",
  target: "127.0.0.1",
  resolvedTarget: "127.0.0.1",
  argv: ["nmap", "-n", "-sT", "127.0.0.1"],
  decision: "allowed",
  outcome: "success",
  durationSeconds: 0.05,
  intrusive: false,
  correlationId: "c",
  error: null,
  ...overrides
})

const lines = (path: string) =>
  existsSync(path)
    ? readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
    : []

const ids = (path: string) => lines(path).map((l) => l["correlation_id"])

const metadata = (audit: AuditLogService) => Effect.map(audit.health, (h) => h.metadata as Record<string, number>)

describe("item 13: one writer, group commit", () => {
  it.scoped("1,000 concurrent writers: every line whole, far fewer writes and fsyncs than lines", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const { audit } = yield* auditAt(path)
      yield* Effect.forEach(
        Array.from({ length: 1000 }, (_, i) => i),
        (i) => audit.record(entry({ correlationId: `c-${i}`, intrusive: i % 10 === 0, argv: ["nmap", "x".repeat(500 + i)] })),
        { concurrency: "unbounded" }
      )
      const written = lines(path)
      expect(written).toHaveLength(1000)
      expect(new Set(written.map((l) => l["correlation_id"])).size).toBe(1000)
      const status = yield* metadata(audit)
      expect(status["linesWritten"]).toBe(1000)
      expect(status["batches"]).toBeLessThan(500)
      expect(status["syncs"]).toBeLessThanOrEqual(status["batches"]!)
      expect(status["syncs"]).toBeGreaterThan(0)
    }), 60_000)

  it.scoped("keeps each caller's order, and an intrusive line is fsync'ed before record returns", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const { audit } = yield* auditAt(path)
      yield* Effect.forEach(
        ["a", "b"],
        (who) => Effect.forEach(Array.from({ length: 50 }, (_, i) => i), (i) => audit.record(entry({ correlationId: `${who}-${i}` }))),
        { concurrency: 2 }
      )
      for (const who of ["a", "b"]) {
        expect(ids(path).filter((id) => String(id).startsWith(who))).toEqual(Array.from({ length: 50 }, (_, i) => `${who}-${i}`))
      }
      const before = (yield* metadata(audit))["syncs"]!
      yield* audit.record(entry({ correlationId: "intrusive", intrusive: true }))
      expect((yield* metadata(audit))["syncs"]).toBe(before + 1)
      expect(ids(path).at(-1)).toBe("intrusive")
    }))
})

describe("item 14: disk full (a small tmpfs)", () => {
  /** Mounts a 256 KiB tmpfs for the scope; skipped without root. */
  const smallDisk = Effect.gen(function*() {
    const dir = join(yield* scratch, "disk")
    mkdirSync(dir)
    yield* Effect.acquireRelease(
      Effect.sync(() => execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir])),
      () => Effect.sync(() => execFileSync("umount", ["-l", dir]))
    )
    return dir
  })

  /** Fills the file system to the last byte. */
  const fill = (dir: string) => {
    const filler = join(dir, "filler")
    const free = Number(statfsSync(dir).bavail) * Number(statfsSync(dir).bsize)
    writeFileSync(filler, Buffer.alloc(Math.max(0, free - 4096)))
    for (let i = 0;; i++) {
      try {
        writeFileSync(join(dir, `pad-${i}`), Buffer.alloc(512))
      } catch {
        return () => {
          rmSync(filler)
        }
      }
    }
  }

  it.scoped.skipIf(!root)(
    "never leaves a partial line, fails closed for intrusive lines, counts, logs and reports degraded",
    () =>
      Effect.gen(function*() {
        const dir = yield* smallDisk
        const path = join(dir, "audit.jsonl")
        const { audit, logs } = yield* auditAt(path)
        yield* audit.record(entry({ correlationId: "before" }))
        const failures = Metric.value(Metric.tagged(auditFailures, "reason", "ENOSPC"))
        const failedBefore = (yield* failures).count
        const free = fill(dir)

        // Lines larger than any page slack the file still has: some batches must fail part-way.
        yield* Effect.forEach(
          Array.from({ length: 40 }, (_, i) => i),
          (i) => audit.record(entry({ correlationId: `full-${i}`, argv: ["nmap", "y".repeat(1500)] })),
          { concurrency: "unbounded" }
        )
        const text = readFileSync(path, "utf8")
        expect(text.endsWith("\n")).toBe(true)
        const onDisk = lines(path)
        expect(onDisk.length).toBeLessThan(41)
        expect((yield* failures).count).toBeGreaterThan(failedBefore)

        // Larger than a page, so no slack left in the file's last page can take it.
        const big = ["nmap", "z".repeat(5000)]
        const intrusive = yield* Effect.either(audit.write(entry({ correlationId: "intrusive", intrusive: true, argv: big })))
        expect(intrusive._tag === "Left" && intrusive.left._tag).toBe("AuditUnavailable")
        const legacy = yield* Effect.exit(audit.record(entry({ correlationId: "intrusive-2", intrusive: true, argv: big })))
        expect(Exit.isFailure(legacy) && Cause.isDie(legacy.cause)).toBe(true)
        expect(ids(path)).not.toContain("intrusive")

        const health = yield* audit.health
        expect(health.status).toBe("degraded")
        expect(health.message).toContain("ENOSPC")
        // Lines that did not reach the file are in the application log, never lost.
        const fallback = (yield* logs).filter((l) => l.audit).map((l) => l.message)
        const missing = Array.from({ length: 40 }, (_, i) => `full-${i}`).filter((id) => !ids(path).includes(id))
        expect(missing.length).toBeGreaterThan(0)
        for (const id of missing) expect(fallback.some((m) => m.includes(`"correlation_id":"${id}"`)), id).toBe(true)
        expect((yield* logs).some((l) => !l.audit && l.message.includes("audit log write to"))).toBe(true)

        free()
        yield* audit.write(entry({ correlationId: "after", intrusive: true }))
        expect(ids(path).at(-1)).toBe("after")
        expect((yield* audit.health).status).toBe("healthy")
      }),
    60_000
  )

  it.scoped("under audit_fail_closed: all, every line fails closed (an unwritable directory stands in for a full disk)", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      writeFileSync(join(dir, "file"), "")
      const path = join(dir, "file", "audit.jsonl")
      const { audit } = yield* auditAt(path, { audit_fail_closed: "all" })
      const result = yield* Effect.either(audit.write(entry({ correlationId: "plain" })))
      expect(result._tag === "Left" && result.left._tag).toBe("AuditUnavailable")
      const lenient = yield* auditAt(path)
      yield* lenient.audit.write(entry({ correlationId: "plain" }))
      expect((yield* lenient.audit.health).status).toBe("degraded")
    }))
})

describe("item 15: rotation", () => {
  it.scoped("after a rename (logrotate) lines go to a new file at the path", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const { audit } = yield* auditAt(path)
      yield* audit.record(entry({ correlationId: "one" }))
      renameSync(path, `${path}.1`)
      yield* audit.record(entry({ correlationId: "two" }))
      expect(ids(`${path}.1`)).toEqual(["one"])
      expect(ids(path)).toEqual(["two"])
    }))

  it.scoped("after a delete a new file is created", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const { audit } = yield* auditAt(path)
      yield* audit.record(entry({ correlationId: "one" }))
      unlinkSync(path)
      yield* audit.record(entry({ correlationId: "two" }))
      expect(ids(path)).toEqual(["two"])
    }))

  it.scoped("SIGHUP reopens the file", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const { audit } = yield* auditAt(path)
      yield* audit.record(entry({ correlationId: "one" }))
      const opens = (yield* metadata(audit))["opens"]!
      process.kill(process.pid, "SIGHUP")
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      yield* audit.record(entry({ correlationId: "two" }))
      expect((yield* metadata(audit))["opens"]).toBe(opens + 1)
      expect(ids(path)).toEqual(["one", "two"])
    }))
})

describe("item 16: started lines and interrupted executions", () => {
  const started = (id: string, intrusive = false) => ({
    caller: { id: "key-1", transport: "http" as const, address: "127.0.0.1" },
    tool: "NmapTool",
    target: "10.0.0.5",
    resolvedTarget: "10.0.0.5",
    argv: ["/usr/bin/nmap", "-n", "-sV", "10.0.0.5"],
    intrusive,
    correlationId: "shared-correlation",
    executionId: id
  })

  it.scoped("a started line with no outcome is recorded as interrupted at the next start, once", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      yield* Effect.scoped(Effect.gen(function*() {
        const { audit } = yield* auditAt(path)
        expect(yield* audit.recoverInterrupted).toEqual([])
        yield* audit.started(started("run-1", true))
        yield* audit.started(started("run-2"))
        yield* audit.write({ ...entry({ correlationId: "shared-correlation", executionId: "run-2" }), outcome: "success" })
      }))
      // The first server is gone: run-1 never got its outcome.
      const { audit, logs } = yield* auditAt(path)
      const found = yield* audit.recoverInterrupted
      expect(found.map((s) => s.execution_id)).toEqual(["run-1"])
      const interrupted = lines(path).filter((l) => l["outcome"] === "interrupted")
      expect(interrupted).toMatchObject([{
        execution_id: "run-1",
        argv: ["/usr/bin/nmap", "-n", "-sV", "10.0.0.5"],
        decision: "allowed",
        intrusive: true,
        error_tag: "Interrupted"
      }])
      expect((yield* logs).some((l) => l.message.includes("run-1") && l.message.includes("recorded as interrupted"))).toBe(true)
      expect(yield* audit.recoverInterrupted).toBe(found)
      const again = yield* auditAt(path)
      expect(yield* again.audit.recoverInterrupted).toEqual([])
      expect(lines(path).filter((l) => l["outcome"] === "interrupted")).toHaveLength(1)
    }))

  it.scoped("the started line carries the argv before any outcome, fsync'ed when intrusive", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const { audit } = yield* auditAt(path)
      yield* audit.started(started("run-3", true))
      expect(lines(path)).toMatchObject([{ outcome: "started", execution_id: "run-3", argv: started("x").argv, duration_seconds: 0 }])
      expect((yield* metadata(audit))["syncs"]).toBe(1)
    }))
})

describe("lines nobody waits for linger for company", () => {
  const writerAt = (path: string, linger: number) => makeAuditWriter({ path: Effect.succeed(path), reopenSignal: null, linger })
  const text = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "")
  const sleep = (ms: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, ms)))

  it.scopedLive("lines queued one after another within the wait share one write, in queue order", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const writer = yield* writerAt(path, 200)
      for (const line of ["a\n", "b\n"]) {
        expect(writer.enqueueNow(line)).toBe(true)
        yield* sleep(20)
      }
      yield* writer.enqueue("c\n")
      expect(text(path)).toBe("")
      yield* sleep(400)
      expect(text(path)).toBe("a\nb\nc\n")
      expect(yield* writer.status).toMatchObject({ linesWritten: 3, batches: 1 })
    }))

  it.scopedLive("a line somebody waits for, a flush and closing end the wait at once", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const waited = yield* Effect.scoped(Effect.gen(function*() {
        const writer = yield* writerAt(path, 60_000)
        writer.enqueueNow("a\n")
        yield* sleep(20)
        const [took] = yield* Effect.timed(writer.append("b\n", false))
        writer.enqueueNow("c\n")
        yield* sleep(20)
        const [flushed] = yield* Effect.timed(writer.flush)
        writer.enqueueNow("d\n")
        yield* sleep(20)
        return [took, flushed]
      })).pipe(Effect.timed)
      expect(text(path)).toBe("a\nb\nc\nd\n")
      expect(Duration.toMillis(waited[0])).toBeLessThan(10_000)
      for (const d of waited[1]) expect(Duration.toMillis(d)).toBeLessThan(10_000)
    }))

  it.scopedLive("without a wait, a line is written on its own as soon as it is queued", () =>
    Effect.gen(function*() {
      const path = join(yield* scratch, "audit.jsonl")
      const writer = yield* writerAt(path, 0)
      writer.enqueueNow("a\n")
      yield* sleep(100)
      writer.enqueueNow("b\n")
      yield* sleep(100)
      expect(text(path)).toBe("a\nb\n")
      expect(yield* writer.status).toMatchObject({ linesWritten: 2, batches: 2 })
    }))
})
