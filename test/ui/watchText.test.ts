import { describe, expect, it } from "@effect/vitest"
import type { Approval } from "../../src/Approval.js"
import { statusAt } from "../../src/approvalStatus.js"
import { redeliveryText, revocable, standingState, standingText } from "../../src/ui/console/watchText.js"

const NOW = Date.parse("2026-12-01T12:00:00Z")
const LATER = "2026-12-08T12:00:00.000Z"
const EARLIER = "2026-11-30T12:00:00.000Z"

const approval = (fields: Partial<Approval>): Approval => ({
  approval_id: "A1",
  kind: "standing",
  schedule_id: "S1",
  status: "pending",
  tool: "NmapTool",
  target: "127.0.0.1",
  resolved_target: "127.0.0.1",
  argv: ["nmap", "-n", "--script", "ftp-brute", "127.0.0.1"],
  intrusive: true,
  intrusive_reasons: ["--script ftp-brute"],
  engagement: "lab",
  engagement_hash: "h",
  requested_by: "scheduler",
  requested_at: "2026-12-01T10:00:00.000Z",
  expires_at: LATER,
  decided_by: null,
  decided_at: null,
  reason: null,
  used_at: null,
  revoked_by: null,
  revoked_at: null,
  correlation_id: "c",
  digest: "d",
  ...fields
})

const iso = (text: string) => text

describe("a schedule's standing approval state", () => {
  it("is none needed without a standing approval of that schedule (calls and other schedules do not count)", () => {
    const others = [approval({ kind: "call", schedule_id: null }), approval({ schedule_id: "S2" })]
    expect(standingState(others, "S1", NOW)).toEqual({ state: "none" })
    expect(standingText({ state: "none" }, iso)).toBe("none needed")
  })

  it("reads the newest request, whatever the order of the list", () => {
    const old = approval({ approval_id: "old", status: "revoked", revoked_by: "ops", requested_at: "2026-11-01T00:00:00.000Z" })
    const current = approval({ approval_id: "new", status: "approved", decided_by: "ops" })
    expect(standingState([old, current], "S1", NOW)).toMatchObject({ state: "approved", approval: { approval_id: "new" } })
    expect(standingState([current, old], "S1", NOW)).toMatchObject({ state: "approved", approval: { approval_id: "new" } })
  })

  it("says each state in words, with who and until when", () => {
    const text = (fields: Partial<Approval>) => standingText(standingState([approval(fields)], "S1", NOW), iso)
    expect(text({})).toBe(`pending (asked by scheduler; decide by ${LATER})`)
    expect(text({ status: "approved", decided_by: "ops" })).toBe(`approved by ops until ${LATER}`)
    expect(text({ status: "denied", decided_by: "ops", reason: "not this week" })).toBe("denied by ops: not this week")
    expect(text({ status: "revoked", revoked_by: "ops", revoked_at: EARLIER })).toBe(`revoked by ops at ${EARLIER}`)
    expect(text({ status: "expired", expires_at: EARLIER })).toBe(`expired at ${EARLIER}`)
  })

  it("is expired once past its expiry, before the server's sweep rewrites the row", () => {
    expect(statusAt(approval({ status: "approved", expires_at: EARLIER }), NOW)).toBe("expired")
    expect(statusAt(approval({ status: "pending", expires_at: EARLIER }), NOW)).toBe("expired")
    expect(statusAt(approval({ status: "denied", expires_at: EARLIER }), NOW)).toBe("denied")
    expect(standingState([approval({ status: "approved", expires_at: EARLIER })], "S1", NOW)).toMatchObject({ state: "expired" })
  })

  it("offers revoke only for a standing approval that is approved and not expired", () => {
    expect(revocable(approval({ status: "approved" }), NOW)).toBe(true)
    expect(revocable(approval({ status: "approved", expires_at: EARLIER }), NOW)).toBe(false)
    expect(revocable(approval({ status: "pending" }), NOW)).toBe(false)
    expect(revocable(approval({ status: "revoked" }), NOW)).toBe(false)
    expect(revocable(approval({ kind: "call", schedule_id: null, status: "approved" }), NOW)).toBe(false)
  })
})

describe("a dead letter's retry in words", () => {
  it("says whether it was delivered, the attempt, and why not", () => {
    expect(redeliveryText({ webhook: "ops", delivered: true, attempts: 5, error: null, dead_letter: null })).toBe(
      "Delivered to ops (attempt 5); the dead letter is removed."
    )
    const kept = {
      id: "L",
      webhook: "ops",
      schedule_id: "S1",
      run_id: "R",
      payload: "{}",
      attempts: 2,
      last_error: "HTTP 503",
      created_at: EARLIER
    }
    expect(redeliveryText({ webhook: "ops", delivered: false, attempts: 2, error: "HTTP 503", dead_letter: kept })).toBe(
      "Not delivered to ops (attempt 2): HTTP 503; the dead letter is kept."
    )
  })
})
