import { Either } from "effect"
import { TargetRejected } from "../errors.js"
import {
  type Address,
  contains,
  type Family,
  familyBits,
  formatAddress,
  formatNetwork,
  loopbackV4,
  loopbackV6,
  type Network,
  network,
  networkSize,
  overlaps,
  parseAddress,
  parseIPv4,
  parseIPv6,
  parseNetwork,
  v4net,
  v6net
} from "./ip.js"

/**
 * The target policy: which single host, address or network a tool may be
 * pointed at. Parsing is strict (one canonical target, nothing a scanner or a
 * resolver could read as something else); checking applies the always-denied
 * ranges first, then the size limit, then the operator's allow-list.
 */

export interface TargetPolicyOptions {
  /** CIDRs, the aliases `RFC1918` / `loopback` / `ULA`, or name suffixes starting with `.` */
  readonly allowed: ReadonlyArray<string>
  readonly allowIpv6: boolean
  /** Largest number of addresses one CIDR target may cover. */
  readonly maxNetworkSize: number
}

export type ParsedTarget =
  | { readonly kind: "ip"; readonly address: Address; readonly text: string }
  | { readonly kind: "cidr"; readonly network: Network; readonly text: string }
  | { readonly kind: "hostname"; readonly name: string; readonly text: string }

const reject = (target: string, rule: string, message: string): Either.Either<never, TargetRejected> =>
  Either.left(new TargetRejected({ target, rule, message }))

const MAX_TARGET_LENGTH = 253

const hostnameLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
/** Labels inet_aton would read as numbers: decimal, octal or hex. */
const numericLabel = /^(?:0x[0-9a-f]*|[0-9]+)$/

const hostnameProblem = (name: string): string | undefined => {
  if (name.endsWith(".")) return "a trailing dot is not accepted"
  const labels = name.split(".")
  if (labels.some((label) => label === "")) return "empty label"
  const bad = labels.find((label) => !hostnameLabel.test(label))
  return bad === undefined ? undefined : `label '${bad}' is not an RFC 1123 label (letters, digits, inner hyphens, at most 63 characters)`
}

/**
 * Targets already parsed and accepted, by their text: a flood of calls
 * names the same few targets again and again. Only successes are kept (a
 * rejection is a new typed error every time), at most `PARSED_CACHE_SIZE`
 * of them, forgotten all at once when full. A parsed target is immutable,
 * so handing out the same one is handing out an equal one.
 */
const parsed = new Map<string, Either.Either<ParsedTarget, TargetRejected>>()
const PARSED_CACHE_SIZE = 1024

/** Parses one target string; never resolves names and never consults the allow-list. */
export const parseTarget = (raw: string): Either.Either<ParsedTarget, TargetRejected> => {
  const known = parsed.get(raw)
  if (known !== undefined) return known
  const result = parseUncached(raw)
  if (Either.isRight(result)) {
    if (parsed.size >= PARSED_CACHE_SIZE) parsed.clear()
    parsed.set(raw, result)
  }
  return result
}

const parseUncached = (raw: string): Either.Either<ParsedTarget, TargetRejected> => {
  if (raw.length === 0) return reject(raw, "empty_target", "The target is empty")
  if (raw.length > MAX_TARGET_LENGTH) {
    return reject(raw.slice(0, 64), "too_long", `The target is longer than ${MAX_TARGET_LENGTH} characters`)
  }
  if (/[\u0000-\u001f\u007f]/.test(raw)) {
    return reject(raw, "forbidden_character", "The target contains control characters")
  }
  if (/[^\u0000-\u007f]/.test(raw)) {
    return reject(
      raw,
      "non_ascii",
      "The target contains non-ASCII characters; internationalised and look-alike names are not accepted, use the ASCII name or the address"
    )
  }
  if (/[\s,]/.test(raw)) {
    return reject(raw, "not_single_target", "Exactly one target is accepted: no spaces, commas or lists")
  }
  if (raw.startsWith("-")) {
    return reject(raw, "option_injection", "A target cannot start with '-' (it would be read as an option)")
  }
  if (raw.includes("://") || raw.includes("@")) {
    return reject(raw, "url_not_allowed", "URLs and user-info are not targets: give the host name or address only")
  }
  if (/[^A-Za-z0-9.:/-]/.test(raw)) {
    return reject(raw, "forbidden_character", "The target may contain only letters, digits and . : / -")
  }
  if (raw.includes("/")) {
    const net = parseNetwork(raw)
    if (net === undefined) {
      return reject(raw, "invalid_cidr", "A network must be written as a canonical address and a prefix length, e.g. 10.0.0.0/24")
    }
    if (net.prefix === familyBits(net.family)) {
      const address = { family: net.family, value: net.base }
      return Either.right({ kind: "ip", address, text: formatAddress(address) })
    }
    return Either.right({ kind: "cidr", network: net, text: formatNetwork(net) })
  }
  if (raw.includes(":")) {
    const v6 = parseIPv6(raw)
    if (v6 !== undefined) {
      const address = { family: 6 as const, value: v6 }
      return Either.right({ kind: "ip", address, text: formatAddress(address) })
    }
    if (/^[^:]+:[0-9]+$/.test(raw)) {
      return reject(raw, "port_not_allowed", "Ports are not part of a target; pass them as tool arguments (e.g. -p)")
    }
    return reject(raw, "invalid_ipv6", "Not a valid IPv6 address")
  }
  if (/^[0-9.-]+$/.test(raw) && raw.includes("-")) {
    return reject(raw, "not_single_target", "Address ranges are not accepted; give one address or a CIDR network")
  }
  const v4 = parseIPv4(raw)
  if (v4 !== undefined) {
    const address = { family: 4 as const, value: v4 }
    return Either.right({ kind: "ip", address, text: formatAddress(address) })
  }
  const name = raw.toLowerCase()
  const labels = name.split(".")
  const last = labels[labels.length - 1] ?? ""
  if (labels.every((label) => numericLabel.test(label)) || /^[0-9]+$/.test(last)) {
    return reject(
      raw,
      "non_canonical_ip",
      "IPv4 addresses must be four decimal octets without leading zeros (e.g. 10.0.0.5); integer, octal, hex and short forms are not accepted"
    )
  }
  const problem = hostnameProblem(name)
  if (problem !== undefined) return reject(raw, "invalid_hostname", `Not a valid host name: ${problem}`)
  return Either.right({ kind: "hostname", name, text: name })
}

interface Blocked {
  readonly network: Network
  readonly label: string
  /** A single address inside `network` that stays allowed (`::1` inside `::/96`). */
  readonly except?: bigint
}

const v6 = (...words: ReadonlyArray<number>): bigint => words.reduce((acc, w, i) => acc | (BigInt(w) << BigInt(112 - 16 * i)), 0n)

/**
 * Cloud instance-metadata and host services (credentials, user data) outside
 * the ranges denied below, as each provider documents them. The IPv4 ones of
 * most clouds (169.254.169.254, Tencent's 169.254.0.23, Scaleway's
 * 169.254.42.42) are link-local and Alibaba's 100.100.100.200 is in shared
 * space, all denied as ranges; OpenStack's IPv6 one (fe80::a9fe:a9fe) is link-local.
 */
const cloudMetadata: ReadonlyArray<Blocked> = [
  { network: v6net(v6(0xfd00, 0x0ec2), 64), label: "fd00:ec2::/64 (AWS instance metadata, DNS and time services over IPv6)" },
  { network: v6net(v6(0xfd20, 0x00ce, 0, 0, 0, 0, 0, 0x0254), 128), label: "fd20:ce::254 (Google Cloud metadata server over IPv6)" },
  { network: v6net(v6(0xfd00, 0x00c1, 0, 0, 0, 0, 0xa9fe, 0xa9fe), 128), label: "fd00:c1::a9fe:a9fe (Oracle Cloud metadata over IPv6)" },
  { network: v6net(v6(0xfd00, 0xa9fe, 0xa9fe, 0, 0, 0, 0, 1), 128), label: "fd00:a9fe:a9fe::1 (Akamai/Linode metadata over IPv6)" },
  { network: v6net(v6(0xfd00, 0x0042, 0, 0, 0, 0, 0, 0x0042), 128), label: "fd00:42::42 (Scaleway metadata over IPv6)" },
  { network: v4net(168, 63, 129, 16, 32), label: "168.63.129.16 (Azure WireServer and host services)" }
]

/**
 * IPv6 prefixes whose addresses embed an IPv4 address and reach it through a
 * translator, a tunnel or the local stack: judged as IPv6 they would carry
 * any IPv4 address (metadata, loopback, public) past the IPv4 rules.
 */
const embeddingIPv4: ReadonlyArray<Blocked> = [
  { network: v6net(0n, 96), label: "::/96 (unspecified and IPv4-compatible)", except: 1n },
  { network: v6net(0xffffn << 32n, 96), label: "::ffff:0:0/96 (IPv4-mapped; give the IPv4 address)" },
  { network: v6net(0xffffn << 48n, 96), label: "::ffff:0:0:0/96 (IPv4-translated; give the IPv4 address)" },
  { network: v6net(v6(0x64, 0xff9b), 96), label: "64:ff9b::/96 (NAT64, reaches IPv4 hosts)" },
  { network: v6net(v6(0x64, 0xff9b, 1), 48), label: "64:ff9b:1::/48 (local-use NAT64, reaches IPv4 hosts)" },
  {
    network: v6net(v6(0x2001), 23),
    label: "2001::/23 (IETF protocol assignments, includes Teredo 2001::/32, which embeds IPv4 addresses)"
  },
  { network: v6net(v6(0x2002), 16), label: "2002::/16 (6to4, reaches IPv4 hosts)" }
]

/** Never scanned, whatever the allow-list says. */
const deniedRanges: ReadonlyArray<Blocked> = [
  { network: v4net(0, 0, 0, 0, 8), label: "0.0.0.0/8 (\"this network\"; 0.0.0.0 reaches the local host)" },
  { network: v4net(169, 254, 0, 0, 16), label: "169.254.0.0/16 (link-local, includes cloud metadata services)" },
  { network: v4net(224, 0, 0, 0, 4), label: "224.0.0.0/4 (multicast)" },
  { network: v4net(240, 0, 0, 0, 4), label: "240.0.0.0/4 (reserved, includes 255.255.255.255 broadcast)" },
  { network: v4net(192, 0, 0, 0, 24), label: "192.0.0.0/24 (IETF protocol assignments)" },
  { network: v4net(192, 0, 2, 0, 24), label: "192.0.2.0/24 (documentation)" },
  { network: v4net(198, 51, 100, 0, 24), label: "198.51.100.0/24 (documentation)" },
  { network: v4net(203, 0, 113, 0, 24), label: "203.0.113.0/24 (documentation)" },
  { network: v4net(198, 18, 0, 0, 15), label: "198.18.0.0/15 (benchmarking)" },
  { network: v4net(100, 64, 0, 0, 10), label: "100.64.0.0/10 (carrier-grade NAT shared space, includes Alibaba Cloud metadata)" },
  { network: v4net(192, 88, 99, 0, 24), label: "192.88.99.0/24 (6to4 relay anycast)" },
  ...cloudMetadata,
  ...embeddingIPv4,
  { network: v6net(v6(0x0100), 64), label: "100::/64 (discard-only)" },
  { network: v6net(v6(0x2001, 0x0db8), 32), label: "2001:db8::/32 (documentation)" },
  { network: v6net(v6(0x3fff), 20), label: "3fff::/20 (documentation)" },
  { network: v6net(v6(0xfe80), 10), label: "fe80::/10 (link-local)" },
  { network: v6net(v6(0xfec0), 10), label: "fec0::/10 (site-local, deprecated)" },
  { network: v6net(v6(0xff00), 8), label: "ff00::/8 (multicast)" }
]

const rfc1918 = [v4net(10, 0, 0, 0, 8), v4net(172, 16, 0, 0, 12), v4net(192, 168, 0, 0, 16)]
const ula = v6net(0xfc00n << 112n, 7)

const aliases: Record<string, (allowIpv6: boolean) => ReadonlyArray<Network>> = {
  rfc1918: () => rfc1918,
  loopback: (allowIpv6) => (allowIpv6 ? [loopbackV4, loopbackV6] : [loopbackV4]),
  ula: (allowIpv6) => (allowIpv6 ? [ula] : [])
}

/** Addresses that are not publicly routed; outside them a rejection is reported as `public_address`. */
const nonPublic: ReadonlyArray<Network> = [...rfc1918, loopbackV4, loopbackV6, ula]

type AllowEntry =
  | { readonly _tag: "Networks"; readonly networks: ReadonlyArray<Network> }
  | { readonly _tag: "Suffix"; readonly suffix: string }

const parseAllowEntry = (entry: string, allowIpv6: boolean): AllowEntry | string => {
  const alias = Object.hasOwn(aliases, entry.toLowerCase()) ? aliases[entry.toLowerCase()] : undefined
  if (alias !== undefined) return { _tag: "Networks", networks: alias(allowIpv6) }
  if (entry.startsWith(".")) {
    const suffix = entry.slice(1).toLowerCase()
    const problem = suffix === "" ? "empty suffix" : hostnameProblem(suffix)
    return problem === undefined ? { _tag: "Suffix", suffix: `.${suffix}` } : `'${entry}': invalid name suffix (${problem})`
  }
  const net = parseNetwork(entry)
  if (net !== undefined) return { _tag: "Networks", networks: [net] }
  const address = parseAddress(entry)
  if (address !== undefined) return { _tag: "Networks", networks: [network(address.family, address.value, familyBits(address.family))] }
  return `'${entry}': not a CIDR, an address, an alias (RFC1918, loopback, ULA) or a name suffix starting with '.'`
}

/** The problems of an allow-list, one message per invalid entry; empty when every entry is usable. */
export const validateAllowList = (allowed: ReadonlyArray<string>): ReadonlyArray<string> =>
  allowed.flatMap((entry) => {
    const parsed = parseAllowEntry(entry, true)
    return typeof parsed === "string" ? [parsed] : []
  })

interface CompiledAllowList {
  readonly networks: ReadonlyArray<Network>
  readonly suffixes: ReadonlyArray<string>
}

const compiledCache = new WeakMap<ReadonlyArray<string>, Map<boolean, CompiledAllowList>>()

const compile = (allowed: ReadonlyArray<string>, allowIpv6: boolean): CompiledAllowList => {
  const byFamily = compiledCache.get(allowed) ?? new Map<boolean, CompiledAllowList>()
  compiledCache.set(allowed, byFamily)
  const cached = byFamily.get(allowIpv6)
  if (cached !== undefined) return cached
  const networks: Array<Network> = []
  const suffixes: Array<string> = []
  for (const entry of allowed) {
    const parsed = parseAllowEntry(entry, allowIpv6)
    if (typeof parsed === "string") continue
    if (parsed._tag === "Networks") networks.push(...parsed.networks)
    else suffixes.push(parsed.suffix)
  }
  const compiled = { networks, suffixes }
  byFamily.set(allowIpv6, compiled)
  return compiled
}

/**
 * An IPv4 address that is the first or last address of every allowed network
 * holding it: the directed broadcast (and the old all-zeros broadcast) of that
 * network, which a router may deliver to every host there. /31 and /32 have
 * no broadcast address.
 */
const broadcastEdge = (
  value: bigint,
  containing: ReadonlyArray<Network>
): { readonly what: "broadcast" | "network"; readonly network: Network } | undefined => {
  const edges = containing.map((net) => {
    if (net.family !== 4 || net.prefix > 30) return undefined
    if (value === net.base) return { what: "network" as const, network: net }
    return value === net.base + networkSize(net) - 1n ? { what: "broadcast" as const, network: net } : undefined
  })
  return edges.every((edge) => edge !== undefined) ? edges[0] : undefined
}

const checkNetwork = (
  parsed: ParsedTarget,
  net: Network,
  options: TargetPolicyOptions
): Either.Either<ParsedTarget, TargetRejected> => {
  const text = parsed.text
  if (net.family === 6 && !options.allowIpv6) {
    return reject(text, "ipv6_disabled", "IPv6 targets are disabled (security.allow_ipv6)")
  }
  const single = net.prefix === familyBits(net.family)
  const denied = deniedRanges.find(
    (blocked) => overlaps(blocked.network, net) && !(single && blocked.except !== undefined && blocked.except === net.base)
  )
  if (denied !== undefined) {
    return reject(text, "reserved_range", `${text} ${single ? "is in" : "overlaps"} ${denied.label}, which is never scanned`)
  }
  if (networkSize(net) > BigInt(options.maxNetworkSize)) {
    return reject(
      text,
      "network_too_large",
      `${text} covers ${networkSize(net)} addresses; the limit is ${options.maxNetworkSize} (security.max_network_size)`
    )
  }
  const { networks } = compile(options.allowed, options.allowIpv6)
  const containing = networks.filter((allowed) => contains(allowed, net))
  if (containing.length > 0) {
    const edge = single ? broadcastEdge(net.base, containing) : undefined
    return edge === undefined ? Either.right(parsed) : reject(
      text,
      "broadcast_address",
      `${text} is the ${edge.what} address of the allowed network ${
        formatNetwork(edge.network)
      }, which reaches every host on it; give a host address or the network as a CIDR`
    )
  }
  if (nonPublic.some((range) => contains(range, net))) {
    return reject(text, "target_not_allowed", `${text} is not inside the allowed targets (security.allowed_targets)`)
  }
  return reject(
    text,
    "public_address",
    `${text} ${single ? "is a public address" : "includes public addresses"}; only the allowed ranges may be scanned`
  )
}

const suffixAllowed = (name: string, suffixes: ReadonlyArray<string>): boolean =>
  suffixes.some((suffix) => name.length > suffix.length && name.endsWith(suffix))

/** Applies the policy to a parsed target. Host names are judged by suffix only; their addresses are checked when pinned. */
export const checkTarget = (parsed: ParsedTarget, options: TargetPolicyOptions): Either.Either<ParsedTarget, TargetRejected> => {
  switch (parsed.kind) {
    case "ip":
      return checkNetwork(parsed, network(parsed.address.family, parsed.address.value, familyBits(parsed.address.family)), options)
    case "cidr":
      return checkNetwork(parsed, parsed.network, options)
    case "hostname": {
      const { suffixes } = compile(options.allowed, options.allowIpv6)
      return suffixAllowed(parsed.name, suffixes)
        ? Either.right(parsed)
        : reject(
          parsed.text,
          "hostname_not_allowed",
          `${parsed.text} does not end with an allowed name suffix${suffixes.length > 0 ? ` (${suffixes.join(", ")})` : ""}`
        )
    }
  }
}

export const validateTarget = (raw: string, options: TargetPolicyOptions): Either.Either<ParsedTarget, TargetRejected> =>
  Either.flatMap(parseTarget(raw), (parsed) => checkTarget(parsed, options))

/** Checks one resolved address (as returned by a resolver) against the policy. */
export const checkAddress = (text: string, options: TargetPolicyOptions): Either.Either<ParsedTarget, TargetRejected> => {
  const address = parseAddress(text)
  if (address === undefined) return reject(text, "invalid_address", `${text} is not an IP address`)
  return checkTarget({ kind: "ip", address, text: formatAddress(address) }, options)
}

export const addressFamily = (text: string): Family | undefined => parseAddress(text)?.family
