import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import type { Approval } from "../../src/Approval.js"
import type { Caller, CallerScope } from "../../src/identity/Caller.js"
import {
  approvalDigest,
  type ApprovalSubject,
  covers,
  mayDecide,
  mayRevoke,
  mayView,
  needsApproval,
  standingDigest,
  type StandingSubject
} from "../../src/policy/approval.js"
import { Engagement } from "../../src/policy/Engagement.js"

const subject: ApprovalSubject = {
  tool: "NmapTool",
  resolvedTarget: "127.0.0.1",
  argv: ["/usr/bin/nmap", "-oX", "-", "-n", "-A", "127.0.0.1"],
  engagement: { name: "lab", hash: "a".repeat(64) },
  timeoutSeconds: 60,
  requestedBy: "requester"
}

const key = (id: string, scopes: ReadonlyArray<CallerScope>, engagements: Caller["engagements"] = ["lab"]): Caller => ({
  id,
  transport: "http",
  scopes: new Set(scopes),
  engagements
})

const NOW = Date.parse("2025-06-02T10:00:00Z")

const approval = (fields: Partial<Approval> = {}): Approval => ({
  approval_id: "01J0000000000000000000000A",
  kind: "call",
  schedule_id: null,
  status: "pending",
  tool: subject.tool,
  target: "127.0.0.1",
  resolved_target: subject.resolvedTarget,
  argv: subject.argv,
  intrusive: true,
  intrusive_reasons: ["-A"],
  engagement: "lab",
  engagement_hash: subject.engagement.hash,
  requested_by: "requester",
  requested_at: new Date(NOW - 60_000).toISOString(),
  expires_at: new Date(NOW + 60_000).toISOString(),
  decided_by: null,
  decided_at: null,
  reason: null,
  used_at: null,
  revoked_by: null,
  revoked_at: null,
  correlation_id: "c-1",
  digest: approvalDigest(subject),
  ...fields
})

const outcome = <A>(result: Either.Either<A, { readonly _tag: string; readonly rule?: string }>) =>
  Either.match(result, { onLeft: (e) => e.rule ?? e._tag, onRight: (value) => value ?? "ok" })

describe("approval policy", () => {
  it("which calls need one", () => {
    const e = (approval: "none" | "intrusive" | "all") =>
      Schema.decodeUnknownSync(Engagement)({ name: "x", targets: ["10.0.0.1"], approval })
    expect(needsApproval(e("intrusive"), true)).toBe(true)
    expect(needsApproval(e("intrusive"), false)).toBe(false)
    expect(needsApproval(e("all"), false)).toBe(true)
    expect(needsApproval(e("none"), true)).toBe(false)
  })

  it("the digest changes with every field it covers", () => {
    const base = approvalDigest(subject)
    expect(approvalDigest({ ...subject })).toBe(base)
    expect(approvalDigest({ ...subject, argv: [...subject.argv.slice(0, -1), "-sV", "127.0.0.1"] })).not.toBe(base)
    expect(approvalDigest({ ...subject, argv: [...subject.argv].reverse() })).not.toBe(base)
    expect(approvalDigest({ ...subject, resolvedTarget: "127.0.0.2" })).not.toBe(base)
    expect(approvalDigest({ ...subject, tool: "MasscanTool" })).not.toBe(base)
    expect(approvalDigest({ ...subject, engagement: { name: "lab", hash: "b".repeat(64) } })).not.toBe(base)
    expect(approvalDigest({ ...subject, requestedBy: "someone-else" })).not.toBe(base)
  })

  it("an approval of a 60 s call does not cover the same call with 3600 s", () => {
    const approved = approval({ status: "approved", decided_by: "approver" })
    const caller = key("requester", ["execute", "intrusive"])
    expect(outcome(covers(approved, approvalDigest(subject), caller, NOW))).toBe("approved")
    expect(outcome(covers(approved, approvalDigest({ ...subject, timeoutSeconds: 3600 }), caller, NOW))).toBe("digest_mismatch")
  })

  it("a key cannot decide its own request, nor without the approve scope or outside the engagement", () => {
    const options = { allowSelfApproval: false, now: NOW }
    expect(outcome(mayDecide(approval(), key("requester", ["execute", "approve"]), options))).toBe("Forbidden")
    expect(outcome(mayDecide(approval(), key("approver", ["execute", "admin"]), options))).toBe("Forbidden")
    expect(outcome(mayDecide(approval(), key("approver", ["approve"], ["other"]), options))).toBe("Forbidden")
    expect(outcome(mayDecide(approval(), key("approver", ["approve"]), options))).toBe("ok")
    expect(outcome(mayDecide(approval(), key("approver", ["approve"], "any"), options))).toBe("ok")
    // only the loudly named lab switch lets the requester decide
    expect(outcome(mayDecide(approval(), key("requester", ["approve"]), { allowSelfApproval: true, now: NOW }))).toBe("ok")
  })

  it("once decided or expired it cannot be decided again", () => {
    const options = { allowSelfApproval: false, now: NOW }
    const approver = key("approver", ["approve"])
    expect(outcome(mayDecide(approval({ status: "approved", decided_by: "x" }), approver, options))).toBe("ApprovalConflict")
    expect(outcome(mayDecide(approval({ expires_at: new Date(NOW).toISOString() }), approver, options))).toBe("ApprovalConflict")
  })

  it("covers exactly the approved call of its requester, once, before it expires", () => {
    const requester = key("requester", ["execute"])
    const digest = approvalDigest(subject)
    const approved = approval({ status: "approved", decided_by: "approver" })
    expect(outcome(covers(approved, digest, requester, NOW))).toBe("approved")
    expect(outcome(covers(approval(), digest, requester, NOW))).toBe("pending")
    expect(outcome(covers(approved, approvalDigest({ ...subject, argv: [...subject.argv, "-sV"] }), requester, NOW))).toBe(
      "digest_mismatch"
    )
    expect(outcome(covers(approved, digest, key("intruder", ["execute"]), NOW))).toBe("not_requester")
    expect(outcome(covers(approval({ status: "used" }), digest, requester, NOW))).toBe("used")
    expect(outcome(covers(approval({ status: "denied", reason: "no" }), digest, requester, NOW))).toBe("denied")
    expect(outcome(covers(approved, digest, requester, NOW + 60_000))).toBe("expired")
  })

  it("is visible to its requester, approvers of its engagement and admins only", () => {
    expect(mayView(approval(), key("requester", ["execute"], undefined))).toBe(true)
    expect(mayView(approval(), key("approver", ["approve"]))).toBe(true)
    expect(mayView(approval(), key("approver", ["approve"], ["other"]))).toBe(false)
    expect(mayView(approval(), key("admin", ["admin"], undefined))).toBe(true)
    expect(mayView(approval(), key("peer", ["execute"]))).toBe(false)
  })

  it("a standing digest changes with every field of what the schedule's runs execute", () => {
    const standing: StandingSubject = {
      scheduleId: "S1",
      tool: "NmapTool",
      target: "127.0.0.1",
      args: ["-A"],
      template: null,
      command: ["nmap", "-oX", "-", "-A"],
      maxRuntime: 60,
      timeoutSeconds: 60,
      engagement: subject.engagement,
      requestedBy: "requester"
    }
    const base = standingDigest(standing)
    expect(standingDigest({ ...standing })).toBe(base)
    for (
      const changed of [
        { scheduleId: "S2" },
        { tool: "MasscanTool" },
        { target: "127.0.0.2" },
        { args: ["-A", "-p", "22"] },
        { template: "quick" },
        { command: ["/opt/other/nmap", "-oX", "-", "-A"] },
        { command: ["nmap", "-oX", "-", "-A", "-T5"] },
        { maxRuntime: 3600 },
        { maxRuntime: null },
        { timeoutSeconds: 3600 },
        { engagement: { name: "lab", hash: "b".repeat(64) } },
        { requestedBy: "someone-else" }
      ]
    ) expect(standingDigest({ ...standing, ...changed })).not.toBe(base)
  })

  it("a standing approval is revoked by its owner, an approver in its engagement or an admin, once approved", () => {
    const standing = approval({ kind: "standing", schedule_id: "S1", status: "approved", decided_by: "approver" })
    expect(outcome(mayRevoke(standing, key("requester", ["execute"]), NOW))).toBe("ok")
    expect(outcome(mayRevoke(standing, key("approver", ["approve"]), NOW))).toBe("ok")
    expect(outcome(mayRevoke(standing, key("root", ["admin"], []), NOW))).toBe("ok")
    expect(outcome(mayRevoke(standing, key("stranger", ["execute"]), NOW))).toBe("Forbidden")
    expect(outcome(mayRevoke(standing, key("elsewhere", ["approve"], ["other"]), NOW))).toBe("Forbidden")
    expect(outcome(mayRevoke({ ...standing, status: "pending" }, key("approver", ["approve"]), NOW))).toBe("ApprovalConflict")
    expect(outcome(mayRevoke(approval({ status: "approved" }), key("approver", ["approve"]), NOW))).toBe("ApprovalConflict")
  })
})
