import * as SqlClient from "@effect/sql/SqlClient"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Option, Scope, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Caller, CallerScope } from "../../src/identity/Caller.js"
import { approvalDigest, type ApprovalSubject, standingDigest, type StandingSubject } from "../../src/policy/approval.js"
import { type ApprovalRequest, Approvals } from "../../src/storage/Approvals.js"
import { Database } from "../../src/storage/Database.js"
import { expireApprovals } from "../../src/storage/retention.js"
import { tempDir } from "../support/shims.js"
import { approvalsLayer, testConfig, type TestDatabase, testDatabases } from "./support.js"

const key = (id: string, scopes: ReadonlyArray<CallerScope>): Caller => ({
  id,
  transport: "http",
  address: "127.0.0.1",
  scopes: new Set(scopes),
  engagements: ["lab"]
})

const requester = key("requester", ["execute", "intrusive"])
const alice = key("alice", ["approve"])
const bob = key("bob", ["approve"])

const subject: ApprovalSubject = {
  tool: "NmapTool",
  resolvedTarget: "127.0.0.1",
  argv: ["/usr/bin/nmap", "-oX", "-", "-n", "-A", "127.0.0.1"],
  engagement: { name: "lab", hash: "c".repeat(64) },
  timeoutSeconds: 60,
  requestedBy: requester.id
}

const request: ApprovalRequest = {
  subject,
  requester,
  target: "127.0.0.1",
  intrusive: true,
  intrusiveReasons: ["-A"],
  correlationId: "corr-1"
}

/** The approvals over `db`, with the audit log in `dir`, open in a scope of their own (closing it is a restart). */
const open = (db: TestDatabase, dir: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const config = yield* testConfig(db, { security: { audit_log_path: join(dir, "audit.jsonl") }, approvals: { ttl: 900 } })
    const layer = approvalsLayer(config.layer)
    const context = yield* Layer.build(layer).pipe(Scope.extend(scope))
    yield* Context.get(context, Database).ready
    return { approvals: Context.get(context, Approvals), db: Context.get(context, Database), close: Scope.close(scope, Exit.void) }
  })

const standingSubject: StandingSubject = {
  scheduleId: "01M8SCHEDULE000000000000001",
  tool: "NmapTool",
  target: "127.0.0.1",
  args: ["-A"],
  template: null,
  command: ["nmap", "-oX", "-", "-A"],
  maxRuntime: 60,
  timeoutSeconds: 60,
  engagement: subject.engagement,
  requestedBy: requester.id
}

const standingRequest = {
  subject: standingSubject,
  requester,
  argv: ["-A", "127.0.0.1"],
  intrusive: true,
  intrusiveReasons: ["-A"],
  engagementEndsMs: undefined
}

const runOf = (digest: string, engagement = subject.engagement) => ({
  scheduleId: standingSubject.scheduleId,
  digest,
  tool: "NmapTool",
  engagement,
  caller: requester
})

const statusRows = (db: Database["Type"]) =>
  db.use("test", Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ id: string; status: string }>`SELECT id, status FROM approvals`))

const auditLines = (dir: string) =>
  readFileSync(join(dir, "audit.jsonl"), "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))

const flipTag = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (error) => error._tag)

for (const { make, name } of testDatabases) {
  describe(`approvals on ${name}`, () => {
    it.scoped("pending until decided; the requester cannot decide it; one of two approvers at once wins", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("approvals")
        const { approvals } = yield* open(yield* make, dir)
        const required = yield* approvals.request(request)
        expect(required.approval).toMatchObject({ status: "pending", requested_by: "requester", argv: subject.argv })
        expect(yield* flipTag(approvals.decide(required.approval_id, "approved", key("requester", ["approve"]), "mine"))).toBe("Forbidden")
        const [a, b] = yield* Effect.all([
          Effect.either(approvals.decide(required.approval_id, "approved", alice, "looks fine")),
          Effect.either(approvals.decide(required.approval_id, "denied", bob, "not today"))
        ], { concurrency: "unbounded" })
        const outcomes = [a, b].map((e) => (e._tag === "Right" ? e.right.status : e.left._tag)).sort()
        expect(outcomes.filter((o) => o === "ApprovalConflict")).toHaveLength(1)
        const final = yield* approvals.get(required.approval_id, alice)
        expect(["approved", "denied"]).toContain(final.status)
        const lines = auditLines(dir).filter((line) => line.approval_id === required.approval_id)
        expect(lines.map((line) => line.decision)).toEqual(["approval:requested", `approval:${final.status}`])
        expect(lines[1]).toMatchObject({ caller_id: final.decided_by, requested_by: "requester", decided_by: final.decided_by })
      }))

    it.scoped("an approval covers exactly its call, once, even for two retries at once", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("approvals")
        const { approvals } = yield* open(yield* make, dir)
        const { approval_id } = yield* approvals.request(request)
        const digest = approvalDigest(subject)
        expect(yield* flipTag(approvals.use(approval_id, digest, requester))).toBe("ApprovalRequired")
        yield* approvals.decide(approval_id, "approved", alice, "ok")
        const changed = approvalDigest({ ...subject, argv: [...subject.argv.slice(0, -1), "-sV", "127.0.0.1"] })
        expect((yield* Effect.flip(approvals.use(approval_id, changed, requester))).message).toContain("not the one")
        const uses = yield* Effect.all([
          Effect.either(approvals.use(approval_id, digest, requester)),
          Effect.either(approvals.use(approval_id, digest, requester))
        ], { concurrency: "unbounded" })
        expect(uses.filter((u) => u._tag === "Right")).toHaveLength(1)
        const refused = uses.find((u) => u._tag === "Left")
        expect(refused?._tag === "Left" && refused.left._tag === "ApprovalRefused" && refused.left.rule).toBe("used")
      }))

    it.scoped("a pending approval expires after the ttl (TestClock) and can no longer be decided", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("approvals")
        const { approvals } = yield* open(yield* make, dir)
        const { approval_id } = yield* approvals.request(request)
        yield* TestClock.adjust(Duration.minutes(14))
        expect((yield* approvals.get(approval_id, alice)).status).toBe("pending")
        const waiter = yield* Effect.fork(approvals.awaitDecision(approval_id))
        yield* TestClock.adjust(Duration.minutes(1))
        yield* Fiber.join(waiter)
        expect((yield* approvals.get(approval_id, alice)).status).toBe("expired")
        expect(yield* flipTag(approvals.decide(approval_id, "approved", alice, "too late"))).toBe("ApprovalConflict")
        expect(yield* approvals.list(alice, "expired")).toHaveLength(1)
        expect(yield* approvals.list(alice, "pending")).toHaveLength(0)
      }))

    it.scoped("the sweep marks approvals past their expiry expired in the table, and leaves the others", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("approvals")
        const { approvals, db } = yield* open(yield* make, dir)
        const old = yield* approvals.request(request)
        yield* TestClock.adjust(Duration.minutes(10))
        const fresh = yield* approvals.request({ ...request, correlationId: "corr-2" })
        yield* TestClock.adjust(Duration.minutes(6))
        expect(yield* expireApprovals(db, yield* Effect.clockWith((c) => c.currentTimeMillis))).toBe(1)
        const rows = new Map((yield* statusRows(db)).map((r) => [r.id, r.status]))
        expect(rows.get(old.approval_id)).toBe("expired")
        expect(rows.get(fresh.approval_id)).toBe("pending")
        expect(yield* expireApprovals(db, yield* Effect.clockWith((c) => c.currentTimeMillis))).toBe(0)
      }))

    it.scoped(
      "a standing approval: decided by another key, covers each run of exactly its schedule and scope, until revoked",
      () =>
        Effect.gen(function*() {
          const dir = yield* tempDir("approvals")
          const { approvals } = yield* open(yield* make, dir)
          const digest = standingDigest(standingSubject)
          const { approval: standing, stored } = yield* approvals.requestStanding(standingRequest)
          expect(stored).toBe(true)
          expect(standing).toMatchObject({ kind: "standing", schedule_id: standingSubject.scheduleId, status: "pending", digest })
          // Pending for as long as it may last (approvals.standing_max_ttl, 30 days by default), not the per-call ttl.
          expect(Date.parse(standing.expires_at) - Date.parse(standing.requested_at)).toBe(30 * 86_400_000)
          expect(yield* flipTag(approvals.useStanding(standing.approval_id, runOf(digest)))).toBe("ApprovalRefused")
          expect(yield* flipTag(approvals.decide(standing.approval_id, "approved", key("requester", ["approve"]), "mine"))).toBe(
            "Forbidden"
          )
          yield* approvals.decide(standing.approval_id, "approved", alice, "weekly")
          // Approved a day later, it keeps its expiry, and covers one run after another.
          expect((yield* approvals.get(standing.approval_id, alice)).expires_at).toBe(standing.expires_at)
          for (let run = 0; run < 3; run++) {
            yield* TestClock.adjust(Duration.hours(1))
            expect((yield* approvals.useStanding(standing.approval_id, runOf(digest))).status).toBe("approved")
          }
          const refusal = (use: ReturnType<typeof runOf>) =>
            Effect.map(
              Effect.flip(approvals.useStanding(standing.approval_id, use)),
              (e) => (e._tag === "ApprovalRefused" ? e.rule : e._tag)
            )
          expect(yield* refusal(runOf(standingDigest({ ...standingSubject, maxRuntime: 3600 })))).toBe("schedule_changed")
          expect(yield* refusal(runOf(digest, { name: "lab", hash: "d".repeat(64) }))).toBe("scope_changed")
          expect(yield* refusal({ ...runOf(digest), scheduleId: "another" })).toBe("not_standing")
          // A call cannot use it by approval_id.
          expect(yield* flipTag(approvals.use(standing.approval_id, digest, requester))).toBe("ApprovalRefused")
          expect(yield* flipTag(approvals.revoke(standing.approval_id, key("stranger", ["execute"]), "no"))).toBe("ApprovalNotFound")
          const revoked = yield* approvals.revoke(standing.approval_id, bob, "window closed")
          expect(revoked).toMatchObject({ status: "revoked", revoked_by: "bob" })
          expect(yield* refusal(runOf(digest))).toBe("revoked")
          expect(yield* flipTag(approvals.revoke(standing.approval_id, bob, "again"))).toBe("ApprovalConflict")
          expect(Option.map(yield* approvals.standingFor(standingSubject.scheduleId), (a) => a.status)).toEqual(Option.some("revoked"))
          expect(yield* approvals.list(alice, "revoked", "standing")).toHaveLength(1)
          expect(yield* approvals.list(alice, undefined, "call")).toHaveLength(0)
          const lines = auditLines(dir).filter((line) => line.approval_id === standing.approval_id)
          expect(lines.map((line) => line.decision)).toEqual(["approval:requested", "approval:approved", "approval:revoked"])
        }),
      30_000
    )

    it.scoped("two asks at once for the same runs store one standing request; changed runs ask anew", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("approvals")
        const { approvals, db } = yield* open(yield* make, dir)
        // Connections open first, so that the two asks really overlap instead of one waiting for a new connection.
        yield* Effect.all([statusRows(db), statusRows(db), statusRows(db)], { concurrency: 3 })
        const [first, second] = yield* Effect.all([
          approvals.requestStanding(standingRequest),
          approvals.requestStanding(standingRequest)
        ], { concurrency: 2 })
        expect(second.approval.approval_id).toBe(first.approval.approval_id)
        expect([first.stored, second.stored].sort()).toEqual([false, true])
        expect(yield* statusRows(db)).toHaveLength(1)
        expect(auditLines(dir).map((line) => line.decision)).toEqual(["approval:requested"])
        const longer = { ...standingRequest, subject: { ...standingSubject, maxRuntime: 3600 } }
        const changed = yield* approvals.requestStanding(longer)
        expect(changed).toMatchObject({ stored: true })
        yield* approvals.decide(changed.approval.approval_id, "denied", alice, "too long")
        // Denied: asking again (the owner enabled the schedule again) is a new request.
        const again = yield* approvals.requestStanding(longer)
        expect(again.stored).toBe(true)
        expect(new Set([first, changed, again].map((a) => a.approval.approval_id)).size).toBe(3)
      }))

    it.scoped("a pending approval survives a restart, and a waiter wakes at its decision", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("approvals")
        const db = yield* make
        const first = yield* open(db, dir)
        const { approval_id } = yield* first.approvals.request(request)
        yield* first.close
        const second = yield* open(db, dir)
        expect((yield* second.approvals.get(approval_id, requester)).status).toBe("pending")
        const waiter = yield* Effect.fork(second.approvals.awaitDecision(approval_id))
        yield* second.approvals.decide(approval_id, "denied", bob, "out of scope today")
        yield* Fiber.join(waiter)
        const refusal = yield* Effect.flip(second.approvals.use(approval_id, approvalDigest(subject), requester))
        expect(refusal).toMatchObject({ _tag: "ApprovalRefused", rule: "denied" })
        expect(refusal.message).toContain("out of scope today")
        // other keys do not see it; approvers outside the engagement neither
        expect(yield* flipTag(second.approvals.get(approval_id, key("other", ["execute"])))).toBe("ApprovalNotFound")
        expect(yield* second.approvals.list({ ...alice, engagements: ["elsewhere"] })).toHaveLength(0)
      }))
  })
}
