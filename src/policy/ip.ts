/**
 * Strict textual IP handling shared by the target policy. Addresses are
 * bigints so IPv4 and IPv6 share one range arithmetic. Only canonical IPv4
 * dotted quads are accepted: inet_aton's octal, hex, short and integer forms
 * (`0177.0.0.1`, `0x7f.1`, `127.1`, `2130706433`) are how allow-list checks are
 * usually bypassed, because the scanner's resolver reads them differently.
 */

export type Family = 4 | 6

export interface Address {
  readonly family: Family
  readonly value: bigint
}

export interface Network {
  readonly family: Family
  /** First address, host bits cleared. */
  readonly base: bigint
  readonly prefix: number
}

export const familyBits = (family: Family): number => (family === 4 ? 32 : 128)

const octet = /^(0|[1-9][0-9]{0,2})$/

export const parseIPv4 = (text: string): bigint | undefined => {
  const parts = text.split(".")
  if (parts.length !== 4) return undefined
  let value = 0n
  for (const part of parts) {
    if (!octet.test(part)) return undefined
    const n = Number(part)
    if (n > 255) return undefined
    value = (value << 8n) | BigInt(n)
  }
  return value
}

const hextet = /^[0-9A-Fa-f]{1,4}$/

/** RFC 4291 text forms, including an embedded dotted quad; no zone index, no brackets. */
export const parseIPv6 = (text: string): bigint | undefined => {
  if (text.length > 45 || !text.includes(":")) return undefined
  const halves = text.split("::")
  if (halves.length > 2) return undefined
  const compressed = halves.length === 2
  const groups = (s: string): ReadonlyArray<string> => (s === "" ? [] : s.split(":"))
  const toWords = (list: ReadonlyArray<string>, mayEndInV4: boolean): Array<number> | undefined => {
    const out: Array<number> = []
    for (let i = 0; i < list.length; i++) {
      const g = list[i] ?? ""
      if (mayEndInV4 && i === list.length - 1 && g.includes(".")) {
        const v4 = parseIPv4(g)
        if (v4 === undefined) return undefined
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn))
      } else if (hextet.test(g)) {
        out.push(parseInt(g, 16))
      } else {
        return undefined
      }
    }
    return out
  }
  const head = toWords(groups(halves[0] ?? ""), !compressed)
  const tail = toWords(groups(halves[1] ?? ""), true)
  if (head === undefined || tail === undefined) return undefined
  const total = head.length + tail.length
  if (compressed ? total > 7 : total !== 8) return undefined
  const words = [...head, ...Array<number>(8 - total).fill(0), ...tail]
  return words.reduce((acc, w) => (acc << 16n) | BigInt(w), 0n)
}

export const parseAddress = (text: string): Address | undefined => {
  const v4 = parseIPv4(text)
  if (v4 !== undefined) return { family: 4, value: v4 }
  const v6 = parseIPv6(text)
  return v6 === undefined ? undefined : { family: 6, value: v6 }
}

const formatIPv4 = (value: bigint): string => [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".")

/** RFC 5952 canonical form: lower case, longest run of two or more zero groups compressed. */
export const formatIPv6 = (value: bigint): string => {
  const words = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn))
  let bestStart = -1
  let bestLen = 0
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i
      bestLen = j - i
    }
    i = j
  }
  const hex = words.map((w) => w.toString(16))
  if (bestStart < 0) return hex.join(":")
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`
}

export const formatAddress = (address: Address): string => address.family === 4 ? formatIPv4(address.value) : formatIPv6(address.value)

const maskOf = (family: Family, prefix: number): bigint => {
  const bits = BigInt(familyBits(family))
  const host = bits - BigInt(prefix)
  return ((1n << bits) - 1n) ^ ((1n << host) - 1n)
}

/** Every mask, made once: a target check compares it with some forty ranges, two masks each, and BigInt arithmetic allocates. */
const masks = {
  4: Array.from({ length: 33 }, (_, prefix) => maskOf(4, prefix)),
  6: Array.from({ length: 129 }, (_, prefix) => maskOf(6, prefix))
} as const

const mask = (family: Family, prefix: number): bigint => masks[family][prefix] ?? maskOf(family, prefix)

export const network = (family: Family, value: bigint, prefix: number): Network => ({
  family,
  base: value & mask(family, prefix),
  prefix
})

export const networkSize = (net: Network): bigint => 1n << BigInt(familyBits(net.family) - net.prefix)

export const contains = (outer: Network, inner: Network): boolean =>
  outer.family === inner.family && outer.prefix <= inner.prefix && (inner.base & mask(outer.family, outer.prefix)) === outer.base

export const overlaps = (a: Network, b: Network): boolean => contains(a, b) || contains(b, a)

export const formatNetwork = (net: Network): string => `${formatAddress({ family: net.family, value: net.base })}/${net.prefix}`

const prefixText = /^(0|[1-9][0-9]{0,2})$/

/** `address/prefix` with a canonical address; host bits may be set and are cleared. */
export const parseNetwork = (text: string): Network | undefined => {
  const slash = text.indexOf("/")
  if (slash < 0 || slash !== text.lastIndexOf("/")) return undefined
  const address = parseAddress(text.slice(0, slash))
  const prefixPart = text.slice(slash + 1)
  if (address === undefined || !prefixText.test(prefixPart)) return undefined
  const prefix = Number(prefixPart)
  if (prefix > familyBits(address.family)) return undefined
  return network(address.family, address.value, prefix)
}

/** Literal networks for the policy tables. */
export const v4net = (a: number, b: number, c: number, d: number, prefix: number): Network =>
  network(4, (BigInt(a) << 24n) | (BigInt(b) << 16n) | (BigInt(c) << 8n) | BigInt(d), prefix)

export const v6net = (value: bigint, prefix: number): Network => network(6, value, prefix)

export const loopbackV4 = v4net(127, 0, 0, 0, 8)
export const loopbackV6 = v6net(1n, 128)

/** Whether a bind address only listens on the local host. */
export const isLoopbackHost = (host: string): boolean => {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host
  if (bare.toLowerCase() === "localhost") return true
  const address = parseAddress(bare)
  if (address === undefined) return false
  const net = network(address.family, address.value, familyBits(address.family))
  return (
    contains(loopbackV4, net) ||
    contains(loopbackV6, net) ||
    contains(v6net((0xffffn << 32n) | (127n << 24n), 104), net)
  )
}
