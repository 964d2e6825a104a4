import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { Engagement } from "../../src/policy/Engagement.js"
import { pinInEngagement } from "../../src/policy/engagementScope.js"
import { Resolver } from "../../src/policy/Resolver.js"
import type { TargetPolicyOptions } from "../../src/policy/targets.js"

/**
 * Escaping an engagement's exclusions (policy functions and a static
 * resolver only: nothing is looked up or sent). An operator who excludes a
 * host by name (the production database inside the lab network) means the
 * host: its address, or a network around it, must not reach it either.
 */

const policy: TargetPolicyOptions = { allowed: ["RFC1918", ".lab.internal"], allowIpv6: false, maxNetworkSize: 1024 }

const lab = Schema.decodeUnknownSync(Engagement)({
  name: "lab",
  targets: ["10.0.0.0/24", "*.lab.internal"],
  exclude: ["db.lab.internal", "gone.lab.internal"]
})

const ruleOf = (target: string, engagement: Engagement = lab) =>
  pinInEngagement(target, policy, undefined, engagement).pipe(
    Effect.match({ onFailure: (error) => error.rule, onSuccess: () => "in scope" })
  )

describe("engagement exclusions by name", () => {
  it.layer(Resolver.layerStatic({ "db.lab.internal": ["10.0.0.20"], "web.lab.internal": ["10.0.0.5"] }))((it) => {
    it.effect("cover the excluded host's address and the networks around it, not only its name", () =>
      Effect.gen(function*() {
        const known = Schema.decodeUnknownSync(Engagement)({ ...Schema.encodeSync(Engagement)(lab), exclude: ["db.lab.internal"] })
        expect(yield* ruleOf("db.lab.internal", known)).toBe("excluded_by_engagement")
        expect(yield* ruleOf("10.0.0.20", known)).toBe("excluded_by_engagement")
        expect(yield* ruleOf("10.0.0.16/28", known)).toBe("excluded_by_engagement")
        expect(yield* ruleOf("10.0.0.0/24", known)).toBe("excluded_by_engagement")
        expect(yield* ruleOf("10.0.0.21", known)).toBe("in scope")
        expect(yield* ruleOf("web.lab.internal", known)).toBe("in scope")
      }))

    it.effect("an excluded name that does not resolve refuses the call: the exclusion cannot be judged", () =>
      Effect.gen(function*() {
        expect(yield* ruleOf("10.0.0.21")).toBe("excluded_by_engagement")
      }))
  })
})
