import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { Engagement } from "../../src/policy/Engagement.js"
import {
  checkInScope,
  type NameEntry,
  nameMatches,
  parseScopeEntry,
  pinInEngagement,
  scopeProblems
} from "../../src/policy/engagementScope.js"
import type { PinnedTarget } from "../../src/policy/pin.js"
import { Resolver } from "../../src/policy/Resolver.js"
import type { TargetPolicyOptions } from "../../src/policy/targets.js"

const engagement = (fields: Partial<typeof Engagement.Encoded>) =>
  Schema.decodeUnknownSync(Engagement)({ name: "lab", targets: ["10.0.0.0/24"], ...fields })

const ip = (text: string): PinnedTarget => ({ original: text, pinned: text, addresses: [text], kind: "ip", family: 4 })
const cidr = (text: string): PinnedTarget => ({ original: text, pinned: text, addresses: [text], kind: "cidr", family: 4 })
const named = (name: string, ...addresses: ReadonlyArray<string>): PinnedTarget => ({
  original: name,
  pinned: addresses[0]!,
  addresses,
  kind: "hostname",
  family: 4
})

const nameEntry = (text: string): NameEntry => {
  const entry = parseScopeEntry(text)
  if (typeof entry === "string" || entry._tag === "Network") throw new Error(`${text} is no name entry`)
  return entry
}

const rule = (e: Engagement, host: string, target: PinnedTarget) =>
  Either.match(checkInScope(e, host, target), { onLeft: (error) => error.rule, onRight: () => "in scope" })

describe("engagement scope", () => {
  it("a wildcard matches on a dot boundary only", () => {
    const wildcard = nameEntry("*.lab.internal")
    expect(nameMatches(wildcard, "a.lab.internal")).toBe(true)
    expect(nameMatches(wildcard, "a.b.lab.internal")).toBe(true)
    expect(nameMatches(wildcard, "lab.internal")).toBe(false)
    expect(nameMatches(wildcard, "evil-lab.internal")).toBe(false)
    expect(nameMatches(wildcard, "evillab.internal")).toBe(false)
    expect(nameMatches(wildcard, "a.lab.internal.evil.com")).toBe(false)
    const exact = nameEntry("Web.Lab.Internal")
    expect(nameMatches(exact, "web.lab.internal")).toBe(true)
    expect(nameMatches(exact, "x.web.lab.internal")).toBe(false)
  })

  it("names, addresses and networks are entries; anything else is a problem naming the entry", () => {
    expect(scopeProblems(["10.0.0.0/24", "10.0.0.5", "fd00::/64", "web.lab.internal", "*.lab.internal"])).toEqual([])
    expect(scopeProblems(["a*.lab.internal", "*", "*.", "lab.*", "10.0.0.0/33", "bad_name", "010.0.0.1"])).toHaveLength(7)
    expect(scopeProblems(["a*.lab.internal"])[0]).toContain("a*.lab.internal")
  })

  it("an address or network must lie inside a listed network", () => {
    const e = engagement({ targets: ["10.0.0.0/24", "10.0.1.7"] })
    expect(rule(e, "10.0.0.9", ip("10.0.0.9"))).toBe("in scope")
    expect(rule(e, "10.0.1.7", ip("10.0.1.7"))).toBe("in scope")
    expect(rule(e, "10.0.1.8", ip("10.0.1.8"))).toBe("outside_engagement")
    expect(rule(e, "10.0.0.128/25", cidr("10.0.0.128/25"))).toBe("in scope")
    // a network only partly inside is outside: scanning it would reach the rest
    expect(rule(e, "10.0.0.0/23", cidr("10.0.0.0/23"))).toBe("outside_engagement")
  })

  it("an exclusion always wins, over a network, a name and a wildcard", () => {
    const e = engagement({
      targets: ["10.0.0.0/24", "*.lab.internal", "db.lab.internal"],
      exclude: ["10.0.0.13", "db.lab.internal", "*.prod.lab.internal"]
    })
    expect(rule(e, "10.0.0.13", ip("10.0.0.13"))).toBe("excluded_by_engagement")
    // a network that contains an excluded address is out as a whole
    expect(rule(e, "10.0.0.0/28", cidr("10.0.0.0/28"))).toBe("excluded_by_engagement")
    expect(rule(e, "10.0.0.16/28", cidr("10.0.0.16/28"))).toBe("in scope")
    expect(rule(e, "db.lab.internal", named("db.lab.internal", "10.0.0.20"))).toBe("excluded_by_engagement")
    expect(rule(e, "api.prod.lab.internal", named("api.prod.lab.internal", "10.0.0.21"))).toBe("excluded_by_engagement")
    // a name in scope whose address is excluded is out too
    expect(rule(e, "web.lab.internal", named("web.lab.internal", "10.0.0.13"))).toBe("excluded_by_engagement")
    expect(rule(e, "web.lab.internal", named("web.lab.internal", "10.0.0.14"))).toBe("in scope")
  })

  it("a host name is in scope by a name entry, or when every address it resolves to is", () => {
    const e = engagement({ targets: ["10.0.0.0/24", "*.lab.internal"] })
    expect(rule(e, "WEB.lab.internal", named("web.lab.internal", "10.9.9.9"))).toBe("in scope")
    expect(rule(e, "host.other.internal", named("host.other.internal", "10.0.0.5"))).toBe("in scope")
    expect(rule(e, "host.other.internal", named("host.other.internal", "10.0.0.5", "10.0.9.5"))).toBe("outside_engagement")
    expect(rule(e, "evil-lab.internal", named("evil-lab.internal", "10.9.9.9"))).toBe("outside_engagement")
  })

  const policy: TargetPolicyOptions = { allowed: ["RFC1918", "loopback", ".lab.internal"], allowIpv6: false, maxNetworkSize: 1024 }

  it.layer(Resolver.layerStatic({ "web.lab.internal": ["10.0.0.5"], "out.lab.internal": ["10.0.9.5"] }))((it) => {
    it.effect("pinning in an engagement pins exactly as without it, or refuses", () =>
      Effect.gen(function*() {
        const e = engagement({ targets: ["10.0.0.0/24", "8.8.8.0/24"] })
        expect(yield* pinInEngagement("web.lab.internal", policy, undefined, e)).toEqual(
          yield* pinInEngagement("web.lab.internal", policy, undefined, undefined)
        )
        expect((yield* Effect.flip(pinInEngagement("out.lab.internal", policy, undefined, e))).rule).toBe("outside_engagement")
        // the engagement lists a public range, the server does not: the server's rule answers
        expect((yield* Effect.flip(pinInEngagement("8.8.8.8", policy, undefined, e))).rule).toBe("public_address")
      }))
  })
})
