import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Scope, TestClock } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Caller, CallerScope } from "../../src/identity/Caller.js"
import { approvalDigest, type ApprovalSubject } from "../../src/policy/approval.js"
import { type ApprovalRequest, Approvals } from "../../src/storage/Approvals.js"
import { Database } from "../../src/storage/Database.js"
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
    return { approvals: Context.get(context, Approvals), close: Scope.close(scope, Exit.void) }
  })

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
