import { Effect, Either } from "effect"
import { TargetRejected } from "../errors.js"
import type { Family } from "./ip.js"
import { type LookupOptions, Resolver } from "./Resolver.js"
import { addressFamily, checkAddress, checkTarget, type ParsedTarget, parseTarget, type TargetPolicyOptions } from "./targets.js"

/**
 * Check-then-pin: a target is validated and turned into the exact address (or
 * network) the tool receives. A host name is resolved once and every address
 * it resolves to must pass the policy, so neither a name that points outside
 * the allowed ranges nor a DNS answer that changes after the check can steer
 * the tool elsewhere.
 */

export interface PinnedTarget {
  /** The caller's target string, as given. */
  readonly original: string
  /** What the tool is given: a canonical address or network, never a name. */
  readonly pinned: string
  /** Every checked address of a name (canonical text); the address or network itself otherwise. */
  readonly addresses: ReadonlyArray<string>
  readonly kind: "ip" | "cidr" | "hostname"
  readonly family: Family
}

/** A target the server policy accepted must also pass the caller's own allow-list, when there is one. */
const andCaller = (
  accepted: Either.Either<ParsedTarget, TargetRejected>,
  callerOptions: TargetPolicyOptions | undefined
): Either.Either<ParsedTarget, TargetRejected> =>
  callerOptions === undefined ? accepted : Either.flatMap(accepted, (ok) => checkTarget(ok, callerOptions))

/**
 * The checks of `pinTarget` that need no lookup: `raw` as a target under the
 * server policy and the caller's own allow-list. A host name it accepts is
 * still to be resolved and its addresses checked.
 */
export const checkedTarget = (
  raw: string,
  options: TargetPolicyOptions,
  callerOptions?: TargetPolicyOptions
): Either.Either<ParsedTarget, TargetRejected> =>
  andCaller(Either.flatMap(parseTarget(raw), (target) => checkTarget(target, options)), callerOptions)

/**
 * Validates `raw` against the server policy and, when given, the caller's own
 * allow-list (both must pass), resolving host names through `Resolver`
 * (on behalf of `lookup.client`, which bounds that client's share of it).
 */
export const pinTarget = (
  raw: string,
  options: TargetPolicyOptions,
  callerOptions?: TargetPolicyOptions,
  lookup?: LookupOptions
): Effect.Effect<PinnedTarget, TargetRejected, Resolver> =>
  Effect.gen(function*() {
    const parsed = yield* checkedTarget(raw, options, callerOptions)
    switch (parsed.kind) {
      case "ip":
        return { original: raw, pinned: parsed.text, addresses: [parsed.text], kind: "ip", family: parsed.address.family } as const
      case "cidr":
        return { original: raw, pinned: parsed.text, addresses: [parsed.text], kind: "cidr", family: parsed.network.family } as const
      case "hostname": {
        const resolver = yield* Resolver
        const resolved = yield* resolver.lookup(parsed.name, lookup)
        const ipv6 = options.allowIpv6 && (callerOptions?.allowIpv6 ?? true)
        // Without IPv6 the tool never uses AAAA answers, so they are not what gets scanned.
        const usable = ipv6 ? resolved : resolved.filter((address) => addressFamily(address) !== 6)
        if (usable.length === 0) {
          return yield* Effect.fail(
            new TargetRejected({
              target: raw,
              rule: "unresolvable",
              message: `${parsed.name} resolves only to IPv6 addresses and IPv6 targets are disabled`
            })
          )
        }
        const addresses: Array<string> = []
        for (const address of usable) {
          const checked = andCaller(checkAddress(address, options), callerOptions)
          if (Either.isLeft(checked)) {
            return yield* Effect.fail(
              new TargetRejected({
                target: raw,
                rule: "resolved_address_rejected",
                message: `${parsed.name} resolves to ${address}: ${checked.left.message}`
              })
            )
          }
          if (!addresses.includes(checked.right.text)) addresses.push(checked.right.text)
        }
        const pinned = addresses.find((address) => addressFamily(address) === 4) ?? addresses[0] ?? ""
        return { original: raw, pinned, addresses, kind: "hostname", family: addressFamily(pinned) ?? 4 } as const
      }
    }
  })
