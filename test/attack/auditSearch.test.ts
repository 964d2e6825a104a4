import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { searchAudit } from "../../src/observability/auditFile.js"
import { auditLine } from "../../src/observability/AuditLog.js"
import { parseAuditLine } from "../../src/observability/auditSearch.js"
import { authPatch, keys, startServer } from "../http/fakes.js"
import { tempDir } from "../support/shims.js"

/**
 * Attacks on GET /audit by an admin's crafted request: a cursor edited to
 * name another file (its device and inode) or an offset past the end reads
 * nothing but the audit log; control characters and line terminators in a
 * filter stay inside the search's own audit line, which remains one line.
 */

const line = (id: string, minute: number) =>
  auditLine({
    caller: { id, transport: "http" },
    tool: "NmapTool",
    target: "127.0.0.1",
    resolvedTarget: "127.0.0.1",
    argv: ["nmap", "-n", "127.0.0.1"],
    decision: "allowed",
    outcome: "success",
    durationSeconds: 0.5,
    intrusive: false,
    correlationId: `${id}-${minute}`,
    error: null
  }, new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString())

describe("audit search attacks", () => {
  it.scoped("a cursor naming another file's device and inode, or an offset past the end, reads nothing else", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("audit-cursor")
      const file = join(dir, "audit.log")
      const secret = join(dir, "secret.log")
      writeFileSync(file, line("alice", 1) + line("bob", 2))
      // A file that holds valid audit lines too, so a read of it would show.
      writeFileSync(secret, line("mallory", 3))
      const other = statSync(secret)
      const forged = yield* Effect.flip(searchAudit(file, { cursor: `${other.dev}-${other.ino}.0` }))
      expect(forged._tag).toBe("InvalidInput")
      const forgedEnd = yield* Effect.flip(searchAudit(file, { cursor: `${other.dev}-${other.ino}.${other.size}` }))
      expect(forgedEnd._tag).toBe("InvalidInput")

      const own = statSync(file)
      const past = yield* searchAudit(file, { cursor: `${own.dev}-${own.ino}.999999999999999` })
      expect(past.lines.map((l) => l.caller_id)).toEqual(["bob", "alice"])
      expect(past.next_cursor).toBeNull()
    }))

  it.scopedLive("control characters and line terminators in a filter stay inside the search's own one audit line", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir("audit-echo"), "audit.log")
      writeFileSync(file, line("exec", 1))
      const { base } = yield* startServer({ ...authPatch, security: { audit_log_path: file } })
      const q = "x\n{\"kind\":\"execution\",\"caller_id\":\"exec\"}\r\u2028\u0085\u001b[2J"
      const response = yield* Effect.promise(() =>
        fetch(`${base}/audit?q=${encodeURIComponent(q)}`, { headers: { authorization: `Bearer ${keys.admin}` } })
      )
      expect(response.status).toBe(200)
      const lines = yield* Effect.promise(async () => {
        for (;;) {
          const text = readFileSync(file, "utf8").split("\n").filter((l) => l !== "")
          if (text.length >= 2) return text
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      })
      expect(lines).toHaveLength(2)
      const own = parseAuditLine(lines[1]!)
      expect(own).toMatchObject({ caller_id: "admin", tool: "audit.search" })
      expect(own?.kind === "execution" ? own.target : "").toContain(q)
      expect(lines[1]).not.toMatch(/[\r\u2028\u0085\u001b]/)
    }))
})
