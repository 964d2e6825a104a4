import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Queue, Scope } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Progress } from "../../src/execution/ToolExecutor.js"
import { nmapXml } from "../tools/nmap/generate.js"
import { caller, makeHarness, testDirectory } from "./support.js"

/**
 * The executor and the scan store: every planned call is a stored scan,
 * named in the result and in the audit lines, complete past the inline
 * output cap, stored with what was read when cancelled or cut by a timeout;
 * operator switches outlive a restart; a store that fails costs no call.
 */

const admin = { callerId: "ops", admin: true }

/** 40 hosts with 3 open ports each, cut into chunks of about 2 KB as a pipe would deliver them. */
const bigScan = nmapXml(Array.from({ length: 40 }, (_, i) => ({ address: `127.0.0.${i}`, open: [22, 80, 443] })))
const chunked = (text: string, size = 2048) =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.slice(i * size, (i + 1) * size))

describe("the executor's stored scans", () => {
  it.scoped("stores every planned call under the id it returns, which the audit lines carry as the execution id", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const result = yield* h.executor.execute(
        "NmapTool",
        { target: "127.0.0.1", args: ["-p", "18080,18081"], correlation_id: "s-1" },
        caller
      )
      expect(result.scan_id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/)
      const lines = yield* h.audit
      expect(lines.map((l) => [l["outcome"], l["execution_id"]])).toEqual([["started", result.scan_id], ["success", result.scan_id]])
      yield* h.scans.flush
      const stored = yield* h.store.get(result.scan_id!, { callerId: caller.id, admin: false })
      expect(stored).toMatchObject({
        tool: "NmapTool",
        caller_id: "tester",
        correlation_id: "s-1",
        target: "127.0.0.1",
        args: ["-p", "18080,18081"],
        template: null,
        outcome: "succeeded",
        parse_status: "complete",
        summary: result.summary,
        argv: result.metadata.argv
      })
      expect(stored.structured).toEqual(result.structured)
      expect((yield* h.store.raw(result.scan_id!, admin)).stdout).toBe(result.stdout)
      // Refused calls are audited, never stored.
      yield* Effect.flip(h.executor.execute("NmapTool", { target: "8.8.8.8" }, caller))
      expect((yield* h.store.list({}, admin)).scans.map((s) => s.scan_id)).toEqual([result.scan_id])
    }))

  it.scoped("parses every chunk as it arrives: complete past the inline cap, found-so-far progress, the whole output stored", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const inline = bigScan.slice(0, 1024)
      yield* h.fake.behave({ _tag: "Finish", chunks: chunked(bigScan), result: { stdout: inline, truncatedStdout: true } })
      const seen: Array<Progress> = []
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.0/26" }, caller, {
        onProgress: (p) => Effect.sync(() => seen.push(p))
      })
      expect(result.truncated_stdout).toBe(true)
      expect(result.stdout).toBe(inline)
      const structured = result.structured as { hosts: ReadonlyArray<unknown>; complete: boolean }
      expect(structured.hosts).toHaveLength(40)
      expect(structured.complete).toBe(true)
      expect(result.summary).toContain("40 hosts up")
      expect(result.summary).toContain(`the stored scan keeps it whole (scan://${result.scan_id}/raw)`)
      expect(seen.some((p) => p.found !== undefined && p.found.openPorts !== undefined && p.found.openPorts > 0)).toBe(true)
      yield* h.scans.flush
      const raw = yield* h.store.raw(result.scan_id!, admin)
      expect(raw).toMatchObject({ stdout: bigScan, truncated_stdout: false })
    }))

  it.scoped("a cancelled run is stored as cancelled with what was parsed, flagged partial", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const half = bigScan.slice(0, bigScan.indexOf(`<host`, bigScan.length / 2))
      yield* h.fake.behave({ _tag: "Hang", chunks: chunked(half) })
      const fiber = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.0/26", correlation_id: "c-1" }, caller))
      yield* Queue.take(h.fake.started)
      yield* Fiber.interrupt(fiber)
      yield* h.scans.flush
      const [entry] = (yield* h.store.list({}, admin)).scans
      const stored = yield* h.store.get(entry!.scan_id, admin)
      expect(stored).toMatchObject({ outcome: "cancelled", parse_status: "partial", error_type: "cancelled", correlation_id: "c-1" })
      const run = stored.structured as { hosts: ReadonlyArray<unknown>; partial: boolean; partial_reason: string }
      expect(run.partial).toBe(true)
      expect(run.partial_reason).toMatch(/cancelled/)
      expect(run.hosts.length).toBeGreaterThan(5)
      expect(run.hosts.length).toBeLessThan(40)
      expect(stored.summary).toContain("PARTIAL")
      expect((yield* h.store.raw(entry!.scan_id, admin)).stdout).toBe(half)
      expect((yield* h.audit).at(-1)).toMatchObject({ outcome: "cancelled", execution_id: entry!.scan_id })
    }))

  it.scoped("a timed-out run returns and stores what was read, partial, with the timeout as its reason", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const half = bigScan.slice(0, bigScan.indexOf(`<host`, bigScan.length / 2))
      yield* h.fake.behave({
        _tag: "Finish",
        chunks: [half],
        result: { stdout: half, timedOut: true, exitCode: null, signal: "SIGKILL" }
      })
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.0/26" }, caller)
      expect(result.timed_out).toBe(true)
      expect(result.structured).toMatchObject({ partial: true, partial_reason: expect.stringContaining("timed out") })
      yield* h.scans.flush
      expect(yield* h.store.get(result.scan_id!, admin)).toMatchObject({ outcome: "timed_out", parse_status: "partial" })
    }))

  it.scoped("a call the breaker or a failed spawn turns away is stored as failed, with the error", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.fake.behave({ _tag: "SpawnFailed" })
      yield* Effect.flip(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* h.executor.setCircuit("NmapTool", "open")
      yield* Effect.flip(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* h.scans.flush
      const scans = (yield* h.store.list({}, admin)).scans
      expect(scans.map((s) => [s.outcome, s.error_type])).toEqual([["failed", "CircuitOpen"], ["failed", "SpawnFailed"]])
    }))

  it.scoped("operator switches outlive a restart: a disabled tool stays disabled, a breaker held open stays open", () =>
    Effect.gen(function*() {
      const dir = yield* testDirectory
      const first = yield* Scope.make()
      const before = yield* makeHarness({}, { dir }).pipe(Scope.extend(first))
      yield* before.executor.setEnabled("PingTool", false, "ops-key")
      yield* before.executor.setCircuit("DigTool", "open", "ops-key")
      yield* before.executor.setCircuit("NmapTool", "open", "ops-key")
      yield* before.executor.setCircuit("NmapTool", "closed", "ops-key")
      yield* Scope.close(first, Exit.void)

      const after = yield* makeHarness({}, { dir })
      const tools = new Map((yield* after.executor.list).map((t) => [t.name, t]))
      expect(tools.get("PingTool")).toMatchObject({ enabled: false })
      expect(tools.get("DigTool")).toMatchObject({ enabled: true, circuitState: "OPEN" })
      expect(tools.get("NmapTool")).toMatchObject({ enabled: true, circuitState: "CLOSED" })
      expect((yield* Effect.flip(after.executor.execute("PingTool", { target: "127.0.0.1" }, caller)))._tag).toBe("ToolDisabled")
      yield* after.executor.setEnabled("PingTool", true)
      const again = yield* makeHarness({}, { dir })
      expect((yield* again.executor.list).find((t) => t.name === "PingTool")?.enabled).toBe(true)
    }))

  it.scoped("a store that cannot be opened costs no call: the result is returned, health says why", () =>
    Effect.gen(function*() {
      const dir = yield* testDirectory
      const notADirectory = join(dir, "file")
      writeFileSync(notADirectory, "")
      const h = yield* makeHarness({ storage: { path: join(notADirectory, "data") } }, { dir })
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      expect(result.returncode).toBe(0)
      expect(result.structured).not.toBeNull()
      const health = yield* h.database.health.run
      expect(health.status).toBe("degraded")
      expect(health.message).toContain("not stored")
    }))

  it.scoped("with storage disabled nothing is stored: scan_id is null and the execution id is the call's own", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ storage: { enabled: false } })
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      expect(result.scan_id).toBeNull()
      expect((yield* h.audit)[0]!["execution_id"]).toMatch(/^[0-9a-f-]{36}$/)
    }))
})
