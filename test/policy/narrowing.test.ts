import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, FastCheck, Schema } from "effect"
import { validateArgs } from "../../src/policy/args.js"
import { Engagement } from "../../src/policy/Engagement.js"
import { pinInEngagement } from "../../src/policy/engagementScope.js"
import { pinTarget } from "../../src/policy/pin.js"
import { applyRateCeiling } from "../../src/policy/rateCeiling.js"
import { Resolver } from "../../src/policy/Resolver.js"
import type { TargetPolicyOptions } from "../../src/policy/targets.js"
import { checkTier } from "../../src/policy/tiers.js"
import { nmapSpec } from "../../src/tools/nmap/spec.js"

/**
 * An engagement only narrows the server's policy: whatever it lists, a
 * target, a tier or a rate it lets through is one the server would let
 * through anyway, exactly as the server would run it. Nothing is resolved
 * or sent here: names resolve through a static table.
 */

const names = {
  "web.lab.internal": ["10.0.0.5"],
  "db.lab.internal": ["10.0.0.6"],
  "pub.lab.internal": ["8.8.8.8"],
  "meta.lab.internal": ["169.254.169.254"],
  "evil-lab.internal": ["10.0.0.7"],
  "a.other.internal": ["192.168.1.9"]
}

const octet = FastCheck.constantFrom(0, 1, 5, 7, 9, 13, 127, 128, 255)
const address = FastCheck.oneof(
  FastCheck.tuple(FastCheck.constantFrom(10, 127, 192, 8, 169, 172, 100, 0, 224), octet, octet, octet).map((parts) => parts.join(".")),
  FastCheck.constantFrom("10.0.0.5", "127.0.0.1", "8.8.8.8", "192.168.1.9")
)
const network = FastCheck.tuple(address, FastCheck.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`)
const name = FastCheck.constantFrom(...Object.keys(names), "lab.internal", "x.prod.lab.internal")
const entry = FastCheck.oneof(
  address,
  network,
  name,
  FastCheck.constantFrom("*.lab.internal", "*.internal", "*.other.internal", "0.0.0.0/0", "*.com")
)
const target = FastCheck.oneof(address, network, name)

const engagementArb = FastCheck.record({
  targets: FastCheck.array(entry, { minLength: 1, maxLength: 5 }),
  exclude: FastCheck.array(entry, { maxLength: 3 })
}).map((fields) => Schema.decodeUnknownSync(Engagement)({ name: "prop", ...fields }))

const policy: TargetPolicyOptions = { allowed: ["RFC1918", "loopback", ".lab.internal"], allowIpv6: false, maxNetworkSize: 1024 }

const run = <A, E>(effect: Effect.Effect<A, E, Resolver>) => Effect.runSyncExit(effect.pipe(Effect.provide(Resolver.layerStatic(names))))

describe("an engagement only narrows the server's policy", () => {
  it.prop("a target an engagement accepts, the server accepts, pinned the same", { e: engagementArb, t: target }, ({ e, t }) => {
    const within = run(pinInEngagement(t, policy, undefined, e))
    if (Exit.isSuccess(within)) expect(run(pinTarget(t, policy))).toEqual(within)
  }, { fastCheck: { numRuns: 500 } })

  it("the generated cases are not vacuous: engagements accept some targets and refuse others the server accepts", () => {
    const samples = FastCheck.sample(FastCheck.tuple(engagementArb, target), { numRuns: 500, seed: 7 })
    const verdicts = samples.map((
      [e, t]
    ) => [Exit.isSuccess(run(pinInEngagement(t, policy, undefined, e))), Exit.isSuccess(run(pinTarget(t, policy)))])
    expect(verdicts.filter(([within]) => within).length).toBeGreaterThan(10)
    expect(verdicts.filter(([within, server]) => !within && server).length).toBeGreaterThan(10)
  })

  it.prop("a key's own allow-list still applies inside an engagement", { e: engagementArb, t: target }, ({ e, t }) => {
    const own: TargetPolicyOptions = { ...policy, allowed: ["10.0.0.0/28"] }
    const within = run(pinInEngagement(t, policy, own, e))
    if (Exit.isSuccess(within)) expect(Exit.isSuccess(run(pinTarget(t, policy, own)))).toBe(true)
  }, { fastCheck: { numRuns: 300 } })

  const token = FastCheck.constantFrom(
    ["-sT"],
    ["-sV"],
    ["-A"],
    ["--script", "vuln"],
    ["--max-rate", "5"],
    ["--max-rate", "5000"],
    ["--min-rate", "900"],
    ["-p", "22"],
    ["-T4"]
  )

  it.prop("tiers and rate ceilings only refuse or lower: no intrusive call passes that the server refuses", {
    tokens: FastCheck.array(token, { maxLength: 4 }).map((parts) => parts.flat()),
    tiers: FastCheck.subarray(["passive", "safe", "intrusive"] as const),
    ceiling: FastCheck.option(FastCheck.double({ min: 0.1, max: 10_000, noNaN: true }), { nil: undefined }),
    allowIntrusive: FastCheck.boolean()
  }, ({ allowIntrusive, ceiling, tiers, tokens }) => {
    const e = Schema.decodeUnknownSync(Engagement)({ name: "prop", targets: ["10.0.0.0/24"], tiers })
    const server = validateArgs(nmapSpec, tokens, { allowIntrusive, maxArgsLength: 2048 })
    if (server._tag === "Left") return // the engagement steps run only after the server's argument policy accepted the call
    const tier = checkTier(e, nmapSpec.name, server.right.intrusive)
    if (tier._tag === "Right") expect(tier.right === "intrusive" ? allowIntrusive : true).toBe(true)
    const ceiled = applyRateCeiling(nmapSpec.name, server.right.tokens, ceiling, "prop")
    const rates = ceiled.tokens.flatMap((t, i) => (t === "--max-rate" ? [Number(ceiled.tokens[i + 1])] : []))
    const asked = server.right.tokens.flatMap((t, i) => (t === "--max-rate" ? [Number(server.right.tokens[i + 1])] : []))
    if (ceiling !== undefined) {
      expect(rates).toHaveLength(1)
      expect(rates[0]!).toBeLessThanOrEqual(Math.round(ceiling * 1000) / 1000)
      for (const rate of asked) expect(rates[0]!).toBeLessThanOrEqual(rate)
    } else expect(ceiled.tokens).toEqual(server.right.tokens)
  }, { fastCheck: { numRuns: 300 } })
})
