import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema, TestClock } from "effect"
import { checkEngagementTime } from "../../src/execution/engage.js"
import { Engagement, engagementHash } from "../../src/policy/Engagement.js"
import { selectEngagement } from "../../src/policy/engagementSelection.js"
import { windowOpen } from "../../src/policy/engagementWindows.js"
import { applyRateCeiling } from "../../src/policy/rateCeiling.js"
import { callTier, checkTier } from "../../src/policy/tiers.js"

const engagement = (fields: Partial<typeof Engagement.Encoded> = {}) =>
  Schema.decodeUnknownSync(Engagement)({ name: "lab", targets: ["10.0.0.0/24"], ...fields })

/** The verdict of the engagement's dates and windows at `iso`, with the test clock set there. */
const at = (e: Engagement, iso: string) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(Date.parse(iso))
    return yield* checkEngagementTime(e).pipe(Effect.match({ onFailure: (error) => error.rule, onSuccess: () => "open" }))
  })

describe("engagement windows (TestClock)", () => {
  // 2025-06-02 is a Monday.
  const office = engagement({ windows: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: "08:00", end: "18:00" }] })

  it.effect("a weekday window opens at its start and closes at its end, in UTC", () =>
    Effect.gen(function*() {
      expect(yield* at(office, "2025-06-02T07:59:59Z")).toBe("outside_window")
      expect(yield* at(office, "2025-06-02T08:00:00Z")).toBe("open")
      expect(yield* at(office, "2025-06-02T17:59:59Z")).toBe("open")
      expect(yield* at(office, "2025-06-02T18:00:00Z")).toBe("outside_window")
      expect(yield* at(office, "2025-06-07T12:00:00Z")).toBe("outside_window") // Saturday
    }))

  it.effect("a window past midnight belongs to the day it opens on", () =>
    Effect.gen(function*() {
      const night = engagement({ windows: [{ days: ["fri"], start: "22:00", end: "06:00" }] })
      expect(yield* at(night, "2025-06-06T21:59:00Z")).toBe("outside_window") // Friday evening
      expect(yield* at(night, "2025-06-06T23:30:00Z")).toBe("open")
      expect(yield* at(night, "2025-06-07T05:59:00Z")).toBe("open") // early Saturday
      expect(yield* at(night, "2025-06-06T03:00:00Z")).toBe("outside_window") // early Friday: Thursday's night
      expect(windowOpen({ start: "00:00", end: "24:00" }, Date.parse("2025-06-06T23:59:00Z"))).toBe(true)
    }))

  it.effect("dates bound the engagement; a bare until date lasts the whole day", () =>
    Effect.gen(function*() {
      const dated = engagement({ from: "2025-06-02", until: "2025-06-13" })
      expect(yield* at(dated, "2025-06-01T23:59:59Z")).toBe("not_started")
      expect(yield* at(dated, "2025-06-02T00:00:00Z")).toBe("open")
      expect(yield* at(dated, "2025-06-13T23:59:59Z")).toBe("open")
      expect(yield* at(dated, "2025-06-14T00:00:00Z")).toBe("ended")
      const instant = engagement({ until: "2025-06-13T18:00Z" })
      expect(yield* at(instant, "2025-06-13T18:00:00Z")).toBe("ended")
    }))

  it.effect("the refusal says when calls are allowed", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2025-06-07T12:00:00Z"))
      const error = yield* Effect.flip(checkEngagementTime(office))
      expect(error.message).toContain("mon,tue,wed,thu,fri 08:00-18:00 UTC")
      expect(error.message).toContain("2025-06-07T12:00:00.000Z")
    }))
})

describe("engagement tiers", () => {
  it("ping, dig and traceroute are passive, an intrusive call is intrusive whatever the tool, the rest safe", () => {
    expect(callTier("PingTool", false)).toBe("passive")
    expect(callTier("DigTool", true)).toBe("intrusive")
    expect(callTier("NmapTool", false)).toBe("safe")
    expect(callTier("MyCustomTool", false)).toBe("safe")
  })

  it("refuses a tier the engagement does not allow; the default allows passive and safe", () => {
    const passive = engagement({ tiers: ["passive"] })
    expect(Either.isRight(checkTier(passive, "PingTool", false))).toBe(true)
    expect(Either.match(checkTier(passive, "NmapTool", false), { onLeft: (e) => e.rule, onRight: () => "allowed" })).toBe(
      "tier_not_allowed"
    )
    expect(Either.isRight(checkTier(engagement(), "NmapTool", false))).toBe(true)
    expect(Either.isLeft(checkTier(engagement(), "NmapTool", true))).toBe(true)
  })
})

describe("packet-rate ceiling", () => {
  it("adds nmap --max-rate, lowers a higher one and a --min-rate above it, keeps a lower one", () => {
    expect(applyRateCeiling("NmapTool", ["-sT"], 100, "lab").tokens).toEqual(["-sT", "--max-rate", "100"])
    expect(applyRateCeiling("NmapTool", ["--max-rate", "500", "-sT"], 100, "lab").tokens).toEqual(["-sT", "--max-rate", "100"])
    expect(applyRateCeiling("NmapTool", ["--max-rate", "20"], 100, "lab").tokens).toEqual(["--max-rate", "20"])
    expect(applyRateCeiling("NmapTool", ["--min-rate", "300"], 100, "lab").tokens).toEqual(["--min-rate", "100", "--max-rate", "100"])
    expect(applyRateCeiling("NmapTool", ["--min-rate", "30"], 100, "lab").tokens).toEqual(["--min-rate", "30", "--max-rate", "100"])
    expect(applyRateCeiling("NmapTool", ["-sT"], 100, "lab").notes[0]).toContain("engagement lab")
  })

  it("caps masscan's --rate as an integer and leaves other tools alone", () => {
    expect(applyRateCeiling("MasscanTool", ["--rate", "900"], 50.7, "lab").tokens).toEqual(["--rate", "50"])
    expect(applyRateCeiling("PingTool", ["-c", "3"], 10, "lab").tokens).toEqual(["-c", "3"])
    expect(applyRateCeiling("NmapTool", ["-sT"], undefined, "lab").tokens).toEqual(["-sT"])
  })
})

describe("engagement selection", () => {
  const all = [engagement({ name: "a" }), engagement({ name: "b" })]
  const pick = (grant: Parameters<typeof selectEngagement>[1], requested?: string) =>
    Either.match(selectEngagement(all, grant, "key-1", requested), {
      onLeft: (error) => error._tag === "InvalidInput" ? "ambiguous" : error.rule,
      onRight: (e) => e?.name ?? "none"
    })

  it("a key with one engagement acts in it by default, and only in it", () => {
    expect(pick(["a"])).toBe("a")
    expect(pick(["a"], "a")).toBe("a")
    expect(pick(["a"], "b")).toBe("engagement_not_allowed")
  })

  it("a key with several must name one; a key with none may name none", () => {
    expect(pick(["a", "b"])).toBe("ambiguous")
    expect(pick(["a", "b"], "b")).toBe("b")
    expect(pick(undefined)).toBe("none")
    expect(pick(undefined, "a")).toBe("engagement_not_allowed")
  })

  it("the local operator may name any engagement, or none", () => {
    expect(pick("any")).toBe("none")
    expect(pick("any", "b")).toBe("b")
    expect(pick("any", "zzz")).toBe("unknown_engagement")
  })
})

describe("engagement hash", () => {
  it("changes with the content, not with key order or defaults written out", () => {
    const base = engagement({ targets: ["10.0.0.0/24"] })
    expect(engagementHash(base)).toMatch(/^[0-9a-f]{64}$/)
    expect(engagementHash(engagement({ targets: ["10.0.0.0/24"], approval: "intrusive", tiers: ["passive", "safe"] }))).toBe(
      engagementHash(base)
    )
    expect(engagementHash(engagement({ targets: ["10.0.0.0/25"] }))).not.toBe(engagementHash(base))
    expect(engagementHash(engagement({ approval: "all" }))).not.toBe(engagementHash(base))
  })
})
