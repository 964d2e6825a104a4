import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { join } from "node:path"
import type { Caller, CallerScope } from "../../src/identity/Caller.js"
import { type ApprovalRequest, Approvals } from "../../src/storage/Approvals.js"
import { Database } from "../../src/storage/Database.js"
import { approvalsLayer, testConfig, type TestDatabase, testDatabases } from "../storage/support.js"
import { tempDir } from "../support/shims.js"

/**
 * Attacks on the approval store by a key that may request approvals: it must
 * not be able to hide another key's pending request from that request's
 * approvers (or from its requester) by requesting many of its own.
 */

const key = (id: string, scopes: ReadonlyArray<CallerScope>, engagement: string): Caller => ({
  id,
  transport: "http",
  address: "127.0.0.1",
  scopes: new Set(scopes),
  engagements: [engagement]
})

const requester = key("requester", ["execute", "intrusive"], "lab")
const approver = key("approver", ["approve"], "lab")
const noisy = key("noisy", ["execute", "intrusive"], "noise")

const requestBy = (caller: Caller, engagement: string, n: number): ApprovalRequest => ({
  subject: {
    tool: "NmapTool",
    resolvedTarget: "127.0.0.1",
    argv: ["/usr/bin/nmap", "-n", "-A", "-p", String(n), "127.0.0.1"],
    engagement: { name: engagement, hash: "c".repeat(64) },
    requestedBy: caller.id
  },
  requester: caller,
  target: "127.0.0.1",
  intrusive: true,
  intrusiveReasons: ["-A"],
  correlationId: `corr-${caller.id}-${n}`
})

const open = (db: TestDatabase, dir: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const config = yield* testConfig(db, { security: { audit_log_path: join(dir, "audit.jsonl") }, approvals: { ttl: 900 } })
    const layer = approvalsLayer(config.layer)
    const context = yield* Layer.build(layer).pipe(Scope.extend(scope))
    yield* Context.get(context, Database).ready
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    return Context.get(context, Approvals)
  })

for (const { make, name } of testDatabases) {
  describe(`approval attacks on ${name}`, () => {
    it.scoped(
      "a flood of another engagement's requests hides no pending approval from its approver or its requester",
      () =>
        Effect.gen(function*() {
          const approvals = yield* open(yield* make, yield* tempDir("approval-attack"))
          const { approval_id } = yield* approvals.request(requestBy(requester, "lab", 1))
          yield* Effect.forEach(Array.from({ length: 510 }, (_, i) => i + 2), (n) => approvals.request(requestBy(noisy, "noise", n)), {
            concurrency: 16,
            discard: true
          })
          const pending = yield* approvals.list(approver, "pending")
          expect(pending.map((a) => a.approval_id)).toEqual([approval_id])
          expect((yield* approvals.list(requester)).map((a) => a.approval_id)).toEqual([approval_id])
          // Its own list is still one bounded page.
          expect(yield* approvals.list(noisy, "pending")).toHaveLength(500)
        }),
      { timeout: 120_000 }
    )
  })
}
