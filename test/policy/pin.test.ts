import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { pinTarget } from "../../src/policy/pin.js"
import { Resolver } from "../../src/policy/Resolver.js"
import type { TargetPolicyOptions } from "../../src/policy/targets.js"

const policy: TargetPolicyOptions = { allowed: ["RFC1918", "loopback", ".lab.internal"], allowIpv6: false, maxNetworkSize: 1024 }

const table = Resolver.layerStatic({
  "web.lab.internal": ["10.0.0.5"],
  "dual.lab.internal": ["fd00::5", "10.0.0.6", "10.0.0.6"],
  "v6only.lab.internal": ["fd00::7"],
  "rebind.lab.internal": ["10.0.0.8", "8.8.8.8"],
  "x.lab.internal": ["8.8.8.8"],
  "meta.lab.internal": ["169.254.169.254"],
  "ten.lab.internal": ["10.9.9.9"],
  "example.com": ["10.0.0.9"]
})

const rejection = (raw: string, options = policy, caller?: TargetPolicyOptions) =>
  pinTarget(raw, options, caller).pipe(
    Effect.flip,
    Effect.map((error) => error.rule)
  )

describe("pinTarget", () => {
  it.layer(table)((it) => {
    it.effect("addresses and networks pass through normalised", () =>
      Effect.gen(function*() {
        expect(yield* pinTarget("10.0.0.5", policy)).toEqual({
          original: "10.0.0.5",
          pinned: "10.0.0.5",
          addresses: ["10.0.0.5"],
          kind: "ip",
          family: 4
        })
        expect(yield* pinTarget("192.168.1.9/28", policy)).toEqual({
          original: "192.168.1.9/28",
          pinned: "192.168.1.0/28",
          addresses: ["192.168.1.0/28"],
          kind: "cidr",
          family: 4
        })
      }))

    it.effect("a name is resolved once and the tool gets the address", () =>
      Effect.gen(function*() {
        const pinned = yield* pinTarget("Web.Lab.Internal", policy)
        expect(pinned).toEqual({ original: "Web.Lab.Internal", pinned: "10.0.0.5", addresses: ["10.0.0.5"], kind: "hostname", family: 4 })
      }))

    it.effect("a name resolving to a public or reserved address is rejected despite its suffix", () =>
      Effect.gen(function*() {
        expect(yield* rejection("x.lab.internal")).toBe("resolved_address_rejected")
        expect(yield* rejection("meta.lab.internal")).toBe("resolved_address_rejected")
        const error = yield* Effect.flip(pinTarget("rebind.lab.internal", policy))
        expect(error.message).toMatch(/8\.8\.8\.8/)
      }))

    it.effect("the suffix is checked before any lookup", () =>
      Effect.gen(function*() {
        expect(yield* rejection("example.com")).toBe("hostname_not_allowed")
        expect(yield* rejection("evil.lab.internal.attacker.com")).toBe("hostname_not_allowed")
        expect(yield* rejection("nowhere.lab.internal")).toBe("unresolvable")
      }))

    it.effect("without IPv6, AAAA answers are ignored and IPv4 is pinned", () =>
      Effect.gen(function*() {
        const pinned = yield* pinTarget("dual.lab.internal", policy)
        expect(pinned.pinned).toBe("10.0.0.6")
        expect(pinned.addresses).toEqual(["10.0.0.6"])
        expect(yield* rejection("v6only.lab.internal")).toBe("unresolvable")
      }))

    it.effect("with IPv6, every address must pass and IPv4 is still preferred", () =>
      Effect.gen(function*() {
        const v6: TargetPolicyOptions = { ...policy, allowed: [...policy.allowed, "ULA"], allowIpv6: true }
        const pinned = yield* pinTarget("dual.lab.internal", v6)
        expect(pinned).toMatchObject({ pinned: "10.0.0.6", addresses: ["fd00::5", "10.0.0.6"], family: 4 })
        expect(yield* pinTarget("v6only.lab.internal", v6)).toMatchObject({ pinned: "fd00::7", family: 6 })
        expect(yield* rejection("dual.lab.internal", { ...v6, allowed: policy.allowed })).toBe("resolved_address_rejected")
      }))

    it.effect("a caller's own allow-list narrows the server's", () =>
      Effect.gen(function*() {
        const caller: TargetPolicyOptions = { ...policy, allowed: ["10.0.0.0/24", ".lab.internal"] }
        expect((yield* pinTarget("10.0.0.5", policy, caller)).pinned).toBe("10.0.0.5")
        expect(yield* rejection("10.0.1.5", policy, caller)).toBe("target_not_allowed")
        expect(yield* rejection("ten.lab.internal", policy, caller)).toBe("resolved_address_rejected")
        expect(yield* rejection("8.8.8.8", policy, { ...policy, allowed: ["0.0.0.0/1"] })).toBe("public_address")
        expect(yield* rejection("web.lab.internal", policy, { ...policy, allowed: ["10.0.0.0/8"] })).toBe("hostname_not_allowed")
      }))

    it.effect("parse failures surface unchanged", () =>
      Effect.gen(function*() {
        expect(yield* rejection("127.0.0.1||cmd")).toBe("forbidden_character")
        expect(yield* rejection("2130706433")).toBe("non_canonical_ip")
        expect(yield* rejection("10.0.0.0/8")).toBe("network_too_large")
      }))
  })
})

describe("Resolver", () => {
  it.effect("the system resolver resolves localhost", () =>
    Effect.gen(function*() {
      const resolver = yield* Resolver
      const addresses = yield* resolver.lookup("localhost")
      expect(addresses.length).toBeGreaterThan(0)
      expect(addresses.some((address) => address === "127.0.0.1" || address === "::1")).toBe(true)
    }).pipe(Effect.provide(Resolver.layer())), 10_000)

  it.effect("the system resolver reports an unknown name as unresolvable", () =>
    Effect.gen(function*() {
      const resolver = yield* Resolver
      const error = yield* Effect.flip(resolver.lookup("no-such-host.invalid"))
      expect(["unresolvable", "resolution_timeout"]).toContain(error.rule)
    }).pipe(Effect.provide(Resolver.layer("3 seconds"))), 10_000)

  it.effect("the static table knows only its names", () =>
    Effect.gen(function*() {
      const resolver = yield* Resolver
      expect(yield* resolver.lookup("web.lab.internal")).toEqual(["10.0.0.5"])
      expect(Either.isLeft(yield* Effect.either(resolver.lookup("toString")))).toBe(true)
    }).pipe(Effect.provide(table)))
})
