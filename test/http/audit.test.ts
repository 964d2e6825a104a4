import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { auditLine } from "../../src/observability/AuditLog.js"
import { tempDir } from "../support/shims.js"
import { authPatch, keys, startServer } from "./fakes.js"

const get = (base: string, path: string, key: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } })
    return { status: response.status, body: (await response.json()) as any }
  })

const line = (id: string, tool: string, target: string, minute: number) =>
  auditLine({
    caller: { id, transport: "http" },
    tool,
    target,
    resolvedTarget: target,
    argv: ["nmap", "-n", target],
    decision: "allowed",
    outcome: "success",
    durationSeconds: 0.5,
    intrusive: false,
    correlationId: `${id}-${minute}`,
    error: null
  }, new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString())

/** Repeats `check` until it holds (the search's own line is queued to the writer); the test's timeout bounds it. */
const eventually = <A>(check: Effect.Effect<A>, done: (a: A) => boolean): Effect.Effect<A> =>
  Effect.flatMap(check, (a) => (done(a) ? Effect.succeed(a) : Effect.zipRight(Effect.sleep("20 millis"), eventually(check, done))))

describe("REST: audit search", () => {
  it.scopedLive("searches the audit file for an admin, newest first with filters and a cursor, and audits every search", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir("rest-audit"), "audit.log")
      writeFileSync(file, line("exec", "NmapTool", "127.0.0.1", 1) + "not a line\n" + line("admin", "PingTool", "127.0.0.2", 2))
      const { base } = yield* startServer({ ...authPatch, security: { audit_log_path: file } })

      const all = yield* get(base, "/audit", keys.admin)
      expect(all.status).toBe(200)
      expect(all.body.lines.map((l: any) => l.correlation_id)).toEqual(["admin-2", "exec-1"])
      expect(all.body).toMatchObject({ next_cursor: null, skipped_lines: 1, scanned_lines: 3 })

      const filtered = yield* get(base, "/audit?caller=exec&tool=NmapTool&target=0.0.1&from=2026-01-01T12:00:00Z", keys.admin)
      expect(filtered.body.lines.map((l: any) => l.correlation_id)).toEqual(["exec-1"])

      // Each search is audited itself: the first one's line is found by the tool name it is written under.
      const own = yield* eventually(get(base, "/audit?tool=audit.search&limit=1", keys.admin), (r) => r.body.lines.length > 0)
      expect(own.body.lines[0]).toMatchObject({ caller_id: "admin", decision: "allowed", outcome: "success", argv: [] })
      expect(own.body.next_cursor).not.toBeNull()
      const older = yield* get(base, `/audit?tool=audit.search&limit=1&cursor=${own.body.next_cursor}`, keys.admin)
      expect(older.body.lines).toHaveLength(1)

      expect((yield* get(base, "/audit", keys.executor)).status).toBe(403)
      for (const bad of ["/audit?limit=0", "/audit?from=yesterday", "/audit?outcome=great", "/audit?cursor=abc"]) {
        const reply = yield* get(base, bad, keys.admin)
        expect([bad, reply.status, reply.body.detail._tag]).toEqual([bad, 400, "InvalidInput"])
      }
    }))

  it.scopedLive("answers 404 AuditLogNotConfigured when no audit file is configured", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer(authPatch)
      const reply = yield* get(base, "/audit", keys.admin)
      expect([reply.status, reply.body.detail._tag]).toEqual([404, "AuditLogNotConfigured"])
      expect(reply.body.detail.message).toContain("security.audit_log_path")
    }))
})
