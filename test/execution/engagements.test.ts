import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import type { DeepPartial } from "../../src/config/ConfigService.js"
import type { AppConfig } from "../../src/config/schema.js"
import type { ApprovalRequired } from "../../src/errors.js"
import type { Caller, CallerScope } from "../../src/identity/Caller.js"
import { makeHarness } from "./support.js"

/**
 * Engagements and approvals through the real executor, its real store and
 * audit log; only the process runner is fake, so no target here is ever
 * scanned (10.x and 8.8.8.8 are policy inputs, nothing more).
 */

const key = (id: string, scopes: ReadonlyArray<CallerScope>, engagements: Caller["engagements"] = ["lab"]): Caller => ({
  id,
  transport: "http",
  address: "127.0.0.1",
  scopes: new Set(scopes),
  engagements
})

const requester = key("requester", ["execute", "intrusive"])
const approver = key("approver", ["approve"])

const lab = {
  name: "lab",
  targets: ["10.0.0.0/24", "*.lab.internal", "8.8.8.8"],
  exclude: ["10.0.0.13"],
  tiers: ["passive", "safe", "intrusive"],
  max_rate: { packets_per_second: 200 },
  approval: "intrusive"
} as const

const config = (patch: DeepPartial<typeof AppConfig.Encoded> = {}): DeepPartial<typeof AppConfig.Encoded> => ({
  security: { allow_intrusive: true },
  rate_limit: { enabled: false },
  engagements: [lab, { name: "other", targets: ["10.0.1.0/24"], approval: "none" }],
  ...patch
})

const failure = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>) =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

const tagOf = <A, E extends { readonly _tag: string; readonly rule?: string }>(exit: Exit.Exit<A, E>) => {
  const error = failure(exit)
  return error === undefined ? "ran" : error.rule === undefined ? error._tag : `${error._tag}:${error.rule}`
}

describe("engagements in the executor", () => {
  it.scoped("a key acts in its engagement: inside its scope, never outside, never in another one", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness(config())
      const run = (input: Record<string, unknown>, caller: Caller = requester) =>
        Effect.exit(h.executor.execute("NmapTool", { args: ["-sT"], ...input }, caller))
      const ok = yield* h.executor.execute("NmapTool", { target: "10.0.0.5", args: ["-sT"] }, requester)
      expect(ok.metadata).toMatchObject({ engagement: "lab", engagement_hash: expect.stringMatching(/^[0-9a-f]{64}$/) })
      expect(tagOf(yield* run({ target: "10.0.1.5" }))).toBe("TargetRejected:outside_engagement")
      expect(tagOf(yield* run({ target: "10.0.0.13" }))).toBe("TargetRejected:excluded_by_engagement")
      expect(tagOf(yield* run({ target: "10.0.1.5", engagement: "other" }))).toBe("EngagementRejected:engagement_not_allowed")
      expect(tagOf(yield* run({ target: "10.0.0.5" }, key("both", ["execute"], ["lab", "other"])))).toBe("InvalidInput")
      expect(tagOf(yield* run({ target: "10.0.1.5", engagement: "other" }, key("both", ["execute"], ["lab", "other"])))).toBe("ran")
      expect(tagOf(yield* run({ target: "10.0.0.5", engagement: "lab" }, { ...key("none", ["execute"]), engagements: [] }))).toBe(
        "EngagementRejected:engagement_not_allowed"
      )
      const lines = yield* h.audit
      expect(lines.filter((line) => line["outcome"] === "success")[0]).toMatchObject({
        engagement: "lab",
        engagement_hash: (ok.metadata as { engagement_hash: string }).engagement_hash
      })
      expect(lines.find((line) => line["error_tag"] === "TargetRejected")).toMatchObject({ engagement: "lab" })
    }))

  it.scoped("an engagement only narrows: a public target it lists is still refused, its ceiling is written into the argv", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness(config())
      const exit = yield* Effect.exit(h.executor.execute("NmapTool", { target: "8.8.8.8", args: ["-sT"] }, requester))
      expect(tagOf(exit)).toBe("TargetRejected:public_address")
      const result = yield* h.executor.execute("NmapTool", { target: "10.0.0.5", args: ["-sT", "--max-rate", "900"] }, requester)
      expect(result.metadata.argv.slice(-4)).toEqual(["-sT", "--max-rate", "200", "10.0.0.5"])
      expect(result.metadata.notes.join(" ")).toContain("ceiling of engagement lab")
      const off = yield* makeHarness({ ...config(), security: { allow_intrusive: false } })
      expect(tagOf(yield* Effect.exit(off.executor.execute("NmapTool", { target: "10.0.0.5", args: ["-A"] }, requester)))).toBe(
        "IntrusiveNotAllowed"
      )
    }))

  it.scoped("windows, tiers and the engagement's call rate refuse what they do not allow", () =>
    Effect.gen(function*() {
      // The test clock starts at 1970-01-01T00:00Z, a Thursday.
      const h = yield* makeHarness({
        ...config(),
        engagements: [
          { name: "lab", targets: ["10.0.0.0/24"], windows: [{ days: ["mon"], start: "08:00", end: "09:00" }] },
          { name: "passive", targets: ["10.0.0.0/24"], tiers: ["passive"], approval: "none" },
          { name: "slow", targets: ["10.0.0.0/24"], max_rate: { calls_per_minute: 1 }, approval: "none" }
        ]
      })
      const run = (tool: string, engagement: string) =>
        Effect.exit(h.executor.execute(tool, { target: "10.0.0.5", engagement }, key("k", ["execute"], "any")))
      expect(tagOf(yield* run("NmapTool", "lab"))).toBe("EngagementRejected:outside_window")
      expect(tagOf(yield* run("NmapTool", "passive"))).toBe("EngagementRejected:tier_not_allowed")
      expect(tagOf(yield* run("PingTool", "passive"))).toBe("ran")
      expect(tagOf(yield* run("PingTool", "slow"))).toBe("ran")
      const limited = failure(yield* run("PingTool", "slow"))
      expect(limited).toMatchObject({ _tag: "RateLimited", scope: "engagement:slow" })
    }))
})

describe("approvals in the executor", () => {
  it.scoped("an intrusive call waits; a second key approves; the retry runs exactly the approved argv, once", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness(config())
      const input = { target: "10.0.0.5", args: ["-A", "-p", "22"] }
      const pending = failure(yield* Effect.exit(h.executor.execute("NmapTool", input, requester))) as ApprovalRequired
      expect(pending._tag).toBe("ApprovalRequired")
      expect(yield* h.fake.requests).toEqual([])
      expect(pending.approval).toMatchObject({ status: "pending", requested_by: "requester", engagement: "lab", intrusive: true })
      // The requester cannot approve its own request, even holding the approve scope.
      const self = yield* Effect.flip(
        h.approvals.decide(pending.approval_id, "approved", { ...requester, scopes: new Set(["approve"]) }, "me")
      )
      expect(self._tag).toBe("Forbidden")
      // Retrying before the decision waits again, runs nothing.
      expect(tagOf(yield* Effect.exit(h.executor.execute("NmapTool", { ...input, approval_id: pending.approval_id }, requester)))).toBe(
        "ApprovalRequired"
      )
      yield* h.approvals.decide(pending.approval_id, "approved", approver, "lab host, agreed")
      const result = yield* h.executor.execute("NmapTool", { ...input, approval_id: pending.approval_id }, requester)
      const [request] = yield* h.fake.requests
      expect([request?.command, ...(request?.args ?? [])]).toEqual(pending.approval.argv)
      expect(result.metadata).toMatchObject({ approval_id: pending.approval_id, approved_by: "approver" })
      // Used once: the same call again under the same approval is refused.
      const again = yield* Effect.exit(h.executor.execute("NmapTool", { ...input, approval_id: pending.approval_id }, requester))
      expect(tagOf(again)).toBe("ApprovalRefused:used")
      const finished = (yield* h.audit).find((line) => line["outcome"] === "success")
      expect(finished).toMatchObject({
        approval_id: pending.approval_id,
        requested_by: "requester",
        decided_by: "approver",
        caller_id: "requester",
        engagement: "lab"
      })
    }))

  // A name that resolves to the approved address runs the same argv, so it is the same call (web.lab.internal is 10.0.0.5 here).
  it.scoped("approve, then change one flag: refused, and nothing runs", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness(config())
      const input = { target: "10.0.0.5", args: ["-A", "-p", "22"] }
      const pending = failure(yield* Effect.exit(h.executor.execute("NmapTool", input, requester))) as ApprovalRequired
      yield* h.approvals.decide(pending.approval_id, "approved", approver, "ok")
      for (
        const changed of [
          { ...input, args: ["-A", "-p", "23"] },
          { ...input, args: ["-A", "-p", "22", "-T4"] },
          { ...input, args: ["-p", "22", "-A"] },
          { ...input, target: "10.0.0.6" }
        ]
      ) {
        const exit = yield* Effect.exit(h.executor.execute("NmapTool", { ...changed, approval_id: pending.approval_id }, requester))
        expect(tagOf(exit)).toBe("ApprovalRefused:digest_mismatch")
      }
      const other = key("intruder", ["execute", "intrusive"])
      expect(tagOf(yield* Effect.exit(h.executor.execute("NmapTool", { ...input, approval_id: pending.approval_id }, other)))).toBe(
        "ApprovalRefused:not_requester"
      )
      expect(yield* h.fake.requests).toEqual([])
      // The approval is still good for exactly the approved call.
      yield* h.executor.execute("NmapTool", { ...input, approval_id: pending.approval_id }, requester)
      expect(yield* h.fake.requests).toHaveLength(1)
    }))
})
