import { Effect, Either } from "effect"
import { TargetRejected } from "../errors.js"
import type { Engagement } from "./Engagement.js"
import { contains, familyBits, type Network, network, overlaps, parseAddress, parseNetwork } from "./ip.js"
import { type PinnedTarget, pinTarget } from "./pin.js"
import { type LookupOptions, Resolver } from "./Resolver.js"
import { parseTarget, type TargetPolicyOptions } from "./targets.js"

/**
 * An engagement's scope: `targets` minus `exclude`, judged on a target the
 * server's policy has already accepted and pinned. Entries are CIDRs,
 * addresses, exact host names and `*.domain` wildcards, which match on a
 * dot boundary only (`*.lab.internal` matches `a.lab.internal` and
 * `a.b.lab.internal`, never `lab.internal` or `evil-lab.internal`).
 *
 * A network target must lie inside a listed network; a host name is in scope
 * when a name entry matches it or when every address it resolved to lies
 * inside a listed network. An exclusion always wins: an excluded name (and
 * any address an exact excluded name resolves to now), or any excluded
 * network the target's addresses touch, takes it out of scope.
 */

export type NameEntry = { readonly _tag: "Name"; readonly name: string } | { readonly _tag: "Wildcard"; readonly suffix: string }

type ScopeEntry = { readonly _tag: "Network"; readonly network: Network } | NameEntry

const hostAddress = (text: string): Network | undefined => {
  const address = parseAddress(text)
  return address === undefined ? undefined : network(address.family, address.value, familyBits(address.family))
}

const validName = (name: string): boolean => Either.match(parseTarget(name), { onLeft: () => false, onRight: (t) => t.kind === "hostname" })

/** One entry, or the reason it is not one. */
export const parseScopeEntry = (entry: string): ScopeEntry | string => {
  const net = entry.includes("/") ? parseNetwork(entry) : hostAddress(entry)
  if (net !== undefined) return { _tag: "Network", network: net }
  const lower = entry.toLowerCase()
  if (lower.startsWith("*.")) {
    const suffix = lower.slice(2)
    return validName(suffix) ? { _tag: "Wildcard", suffix: `.${suffix}` } : `'${entry}': the part after *. is not a host name`
  }
  if (lower.includes("*")) return `'${entry}': a wildcard is only accepted as the whole first label (*.domain)`
  return validName(lower) ? { _tag: "Name", name: lower } : `'${entry}': not a CIDR, an address, a host name or a *.domain wildcard`
}

/** The problems of a list of scope entries, one message per invalid entry. */
export const scopeProblems = (entries: ReadonlyArray<string>): ReadonlyArray<string> =>
  entries.flatMap((entry) => {
    const parsed = parseScopeEntry(entry)
    return typeof parsed === "string" ? [parsed] : []
  })

interface CompiledScope {
  readonly networks: ReadonlyArray<Network>
  readonly names: ReadonlyArray<NameEntry>
}

const compiledCache = new WeakMap<ReadonlyArray<string>, CompiledScope>()

const compile = (entries: ReadonlyArray<string>): CompiledScope => {
  const cached = compiledCache.get(entries)
  if (cached !== undefined) return cached
  const networks: Array<Network> = []
  const names: Array<NameEntry> = []
  for (const entry of entries) {
    const parsed = parseScopeEntry(entry)
    if (typeof parsed === "string") continue
    if (parsed._tag === "Network") networks.push(parsed.network)
    else names.push(parsed)
  }
  const compiled = { networks, names }
  compiledCache.set(entries, compiled)
  return compiled
}

/** Whether a name entry matches `name` (lower case): exactly, or below a wildcard's domain on a dot boundary. */
export const nameMatches = (entry: NameEntry, name: string): boolean =>
  entry._tag === "Name" ? entry.name === name : name.length > entry.suffix.length && name.endsWith(entry.suffix)

const matchesName = (scope: CompiledScope, name: string) => scope.names.some((entry) => nameMatches(entry, name))

/** The networks a pinned target touches: its address or network, or every address its name resolved to. */
const touched = (target: PinnedTarget): ReadonlyArray<Network> =>
  target.addresses.flatMap((text) => {
    const net = text.includes("/") ? parseNetwork(text) : hostAddress(text)
    return net === undefined ? [] : [net]
  })

const reject = (engagement: Engagement, host: string, rule: string, why: string) =>
  Either.left(new TargetRejected({ target: host, rule, message: `${host} ${why} of engagement ${engagement.name}` }))

/**
 * Checks a pinned target against the engagement's scope. `host` is what the
 * server's policy judged (the host of a URL target, the target otherwise).
 */
export const checkInScope = (engagement: Engagement, host: string, target: PinnedTarget): Either.Either<void, TargetRejected> => {
  const included = compile(engagement.targets)
  const excluded = compile(engagement.exclude)
  const name = target.kind === "hostname" ? host.toLowerCase() : undefined
  const nets = touched(target)
  if (name !== undefined && matchesName(excluded, name)) return reject(engagement, host, "excluded_by_engagement", "is excluded (exclude)")
  const hit = nets.find((net) => excluded.networks.some((out) => overlaps(out, net)))
  if (hit !== undefined) {
    const where = name === undefined ? "" : ` (it resolves to ${target.addresses.join(", ")})`
    return reject(engagement, host, "excluded_by_engagement", `touches an excluded network${where}: it is excluded (exclude)`)
  }
  const insideNetworks = nets.length > 0 && nets.every((net) => included.networks.some((allowed) => contains(allowed, net)))
  if (insideNetworks || (name !== undefined && matchesName(included, name))) return Either.void
  return reject(engagement, host, "outside_engagement", "is outside the targets")
}

/**
 * An excluded host name excludes its host, not only the name: a target
 * that touches an address the name resolves to now is out, so the host
 * cannot be reached by its address or a network around it. A name that
 * cannot be resolved refuses the call (the exclusion cannot be judged);
 * a `*.domain` exclusion has no addresses to look up and covers names only.
 */
const checkExcludedNames = (engagement: Engagement, host: string, target: PinnedTarget, lookup?: LookupOptions) =>
  Effect.gen(function*() {
    const names = compile(engagement.exclude).names.flatMap((entry) => entry._tag === "Name" ? [entry.name] : [])
    if (names.length === 0) return
    const resolver = yield* Resolver
    const nets = touched(target)
    for (const name of names) {
      const addresses = yield* resolver.lookup(name, lookup).pipe(
        Effect.mapError(() =>
          new TargetRejected({
            target: host,
            rule: "excluded_by_engagement",
            message:
              `${host} cannot be judged against the exclusion ${name} of engagement ${engagement.name}: ${name} does not resolve now; retry later, or ask the operator to remove the stale exclusion`
          })
        )
      )
      const hit = addresses.flatMap((a) => hostAddress(a) ?? []).some((out) => nets.some((net) => overlaps(out, net)))
      if (hit) {
        return yield* reject(
          engagement,
          host,
          "excluded_by_engagement",
          `touches the address of ${name} (${addresses.join(", ")}), which is excluded (exclude)`
        )
      }
    }
  })

/**
 * Check-then-pin under the server's policy and the caller's own allow-list
 * (see `pinTarget`), then inside the engagement's scope: a target passes
 * only when all of them accept it, and is pinned exactly as without the
 * engagement.
 */
export const pinInEngagement = (
  raw: string,
  options: TargetPolicyOptions,
  callerOptions: TargetPolicyOptions | undefined,
  engagement: Engagement | undefined,
  lookup?: LookupOptions
): Effect.Effect<PinnedTarget, TargetRejected, Resolver> =>
  Effect.tap(
    pinTarget(raw, options, callerOptions, lookup),
    (pinned) =>
      engagement === undefined
        ? Effect.void
        : Effect.zipRight(checkInScope(engagement, raw, pinned), checkExcludedNames(engagement, raw, pinned, lookup))
  )
