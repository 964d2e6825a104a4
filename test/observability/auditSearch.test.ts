import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { appendFileSync, renameSync, writeFileSync } from "node:fs"
import { open } from "node:fs/promises"
import { join } from "node:path"
import { linesBackwards, searchAudit, searchAuditFiles } from "../../src/observability/auditFile.js"
import { type AuditEntry, type AuditLine, auditLine, rejectionsLine } from "../../src/observability/AuditLog.js"
import { auditFilter, type AuditQuery, parseAuditLine } from "../../src/observability/auditSearch.js"
import { tempDir } from "../support/shims.js"

const entry = (over: Partial<AuditEntry> = {}): AuditEntry => ({
  caller: { id: "alice", transport: "http", address: "127.0.0.1" },
  tool: "NmapTool",
  target: "127.0.0.1",
  resolvedTarget: "127.0.0.1",
  argv: ["nmap", "-n", "127.0.0.1"],
  decision: "allowed",
  outcome: "success",
  durationSeconds: 1,
  intrusive: false,
  correlationId: "c",
  error: null,
  ...over
})

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString()

/** Line i: tool, caller and target vary with i, one minute apart. */
const lineOf = (i: number) =>
  auditLine(
    entry({
      caller: { id: i % 2 === 0 ? "alice" : "bob", transport: "http" },
      tool: i % 3 === 0 ? "MasscanTool" : "NmapTool",
      target: `127.0.0.${i}`,
      correlationId: `c${i}`,
      ...(i % 5 === 0 ? { decision: "rejected:TargetRejected", outcome: "rejected" } : {})
    }),
    at(i)
  )

const ids = (lines: ReadonlyArray<AuditLine>) => lines.map((line) => (line.kind === "execution" ? line.correlation_id : line.kind))

describe("audit search filters", () => {
  const line = (i: number) => {
    const raw = lineOf(i).trimEnd()
    return [parseAuditLine(raw)!, raw] as const
  }
  const matching = (query: AuditQuery) => [0, 1, 2, 3, 4, 5].filter((i) => auditFilter(query)(...line(i)))

  it("filters by key, tool, target, decision, outcome, time range and free text", () => {
    expect(matching({})).toEqual([0, 1, 2, 3, 4, 5])
    expect(matching({ caller: "bob" })).toEqual([1, 3, 5])
    expect(matching({ tool: "MasscanTool" })).toEqual([0, 3])
    expect(matching({ target: "127.0.0.4" })).toEqual([4])
    expect(matching({ decision: "rejected" })).toEqual([0, 5])
    expect(matching({ decision: "rejected:TargetRejected" })).toEqual([0, 5])
    expect(matching({ decision: "allowed" })).toEqual([1, 2, 3, 4])
    expect(matching({ outcome: "rejected" })).toEqual([0, 5])
    expect(matching({ from: at(2), to: at(4) })).toEqual([2, 3])
    expect(matching({ q: "C3" })).toEqual([3])
    expect(matching({ caller: "alice", tool: "NmapTool" })).toEqual([2, 4])
  })

  it("matches a rejections line by key, counted tool, the rejected decision and time, never by target or outcome", () => {
    const raw = rejectionsLine({
      caller: { id: "bob", transport: "http" },
      count: 3,
      byTool: { NmapTool: 3 },
      byReason: { RateLimited: 3 },
      first: Date.parse(at(1)),
      last: Date.parse(at(2))
    }, at(3)).trimEnd()
    const line = parseAuditLine(raw)!
    const matches = (query: AuditQuery) => auditFilter(query)(line, raw)
    expect([matches({ caller: "bob" }), matches({ tool: "NmapTool" }), matches({ decision: "rejected" })]).toEqual([true, true, true])
    expect([matches({ tool: "MasscanTool" }), matches({ target: "127" }), matches({ outcome: "success" })]).toEqual([false, false, false])
  })

  it("does not take a foreign or damaged line for an audit line", () => {
    expect(parseAuditLine("{\"kind\":\"execution\"}")).toBeUndefined()
    expect(parseAuditLine(lineOf(1).slice(0, 40))).toBeUndefined()
    expect(parseAuditLine("not json")).toBeUndefined()
  })
})

describe("reading the audit file backwards", () => {
  it.scoped("yields every newline-terminated line, last first, whatever the chunk size, without the unfinished tail", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("audit-back")
      const file = join(dir, "a.log")
      const lines = ["first", "", "ünïcödé line", "x".repeat(100), "last"]
      writeFileSync(file, lines.map((l) => `${l}\n`).join("") + "{\"partial")
      for (const chunkBytes of [1, 3, 7, 64, 65536]) {
        const handle = yield* Effect.promise(() => open(file, "r"))
        const got: Array<string | undefined> = []
        yield* Effect.promise(async () => {
          const { size } = await handle.stat()
          for await (const line of linesBackwards(handle, size, { chunkBytes, maxLineBytes: 50 })) got.push(line.text)
          await handle.close()
        })
        expect([chunkBytes, got]).toEqual([chunkBytes, ["last", undefined, "ünïcödé line", "", "first"]])
      }
    }))

  it.scoped("pages newest first through the current file and then the rotated .1, skipping and counting bad lines", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("audit-search")
      const file = join(dir, "audit.log")
      writeFileSync(file, [0, 1, 2, 3, 4].map(lineOf).join("") + "garbage\n")
      renameSync(file, `${file}.1`)
      writeFileSync(file, [5, 6, 7].map(lineOf).join("") + "{\"kind\":\"execution\"}\n" + lineOf(8))
      const first = yield* searchAudit(file, { limit: 4 })
      expect(ids(first.lines)).toEqual(["c8", "c7", "c6", "c5"])
      expect(first.skipped_lines).toBe(1)
      const second = yield* searchAudit(file, { limit: 4, cursor: first.next_cursor! })
      expect(ids(second.lines)).toEqual(["c4", "c3", "c2", "c1"])
      expect(second.skipped_lines).toBe(1)
      const third = yield* searchAudit(file, { limit: 4, cursor: second.next_cursor! })
      expect([ids(third.lines), third.next_cursor]).toEqual([["c0"], null])
      // Filters apply across both files; a line appended meanwhile does not move a page already begun.
      appendFileSync(file, lineOf(9))
      const bob = yield* searchAudit(file, { caller: "bob", limit: 2, cursor: first.next_cursor! })
      expect(ids(bob.lines)).toEqual(["c3", "c1"])
      // logrotate again: the page begun in the current file goes on in the file now called .1.
      renameSync(file, `${file}.1`)
      writeFileSync(file, lineOf(10))
      const after = yield* searchAudit(file, { limit: 2, cursor: (yield* searchAudit(file, { limit: 1 })).next_cursor! })
      expect(ids(after.lines)).toEqual(["c9", "c8"])
    }))

  it.scoped("stops at the read budget with a cursor that goes on, and refuses a cursor of a file that is gone", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("audit-budget")
      const file = join(dir, "audit.log")
      writeFileSync(file, Array.from({ length: 50 }, (_, i) => lineOf(i)).join(""))
      const page = yield* Effect.promise(() => searchAuditFiles(file, { tool: "none" }, { budget: 2000, chunkBytes: 256 }))
      expect([page.lines.length, page.exhausted_budget, page.next_cursor === null]).toEqual([0, true, false])
      expect(page.scanned_lines).toBeLessThan(50)
      const rest = yield* Effect.promise(() => searchAuditFiles(file, { cursor: page.next_cursor!, limit: 500 }))
      expect(rest.lines.length + page.scanned_lines).toBe(50)
      const refused = yield* Effect.flip(searchAudit(file, { cursor: "1-2.30" }))
      expect(refused._tag).toBe("InvalidInput")
      expect((yield* searchAudit(join(dir, "none.log"), {})).lines).toEqual([])
    }))
})
