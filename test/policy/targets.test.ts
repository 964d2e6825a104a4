import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { defaults } from "../../src/config/schema.js"
import { formatIPv6, parseIPv6 } from "../../src/policy/ip.js"
import { isLoopbackHost } from "../../src/policy/ip.js"
import { parseTarget, type TargetPolicyOptions, validateAllowList, validateTarget } from "../../src/policy/targets.js"

const policy: TargetPolicyOptions = {
  allowed: defaults.security.allowed_targets,
  allowIpv6: defaults.security.allow_ipv6,
  maxNetworkSize: defaults.security.max_network_size
}
const withV6: TargetPolicyOptions = { ...policy, allowed: [...policy.allowed, "ULA"], allowIpv6: true }

const ruleOf = (raw: string, options = policy) => {
  const result = validateTarget(raw, options)
  return Either.isLeft(result) ? result.left.rule : `accepted:${result.right.text}`
}

describe("target policy: attacks and odd notations", () => {
  const cases: Array<[string, string]> = [
    ["127.0.0.1||cmd", "forbidden_character"],
    ["127.0.0.1;id", "forbidden_character"],
    ["$(id)", "forbidden_character"],
    ["`id`", "forbidden_character"],
    ["10.0.0.1\nid", "forbidden_character"],
    ["10.0.0.1\u0000", "forbidden_character"],
    ["10.0.0.1 8.8.8.8", "not_single_target"],
    [" 10.0.0.1", "not_single_target"],
    ["10.0.0.1,8.8.8.8", "not_single_target"],
    ["10.0.0.1-5", "not_single_target"],
    ["10.0.0.*", "forbidden_character"],
    ["http://10.0.0.5@8.8.8.8/", "url_not_allowed"],
    ["user@10.0.0.5", "url_not_allowed"],
    ["http://10.0.0.5/", "url_not_allowed"],
    ["10.0.0.5:22", "port_not_allowed"],
    ["-iL/etc/passwd", "option_injection"],
    ["--script=x", "option_injection"],
    ["2130706433", "non_canonical_ip"],
    ["0x7f.1", "non_canonical_ip"],
    ["0x7f000001", "non_canonical_ip"],
    ["127.1", "non_canonical_ip"],
    ["0177.0.0.1", "non_canonical_ip"],
    ["127.000.000.001", "non_canonical_ip"],
    ["010.0.0.1", "non_canonical_ip"],
    ["10.0.0.256", "non_canonical_ip"],
    ["1.2.3.4.5", "non_canonical_ip"],
    ["169.254.169.254", "reserved_range"],
    ["0.0.0.0", "reserved_range"],
    ["255.255.255.255", "reserved_range"],
    ["224.0.0.1", "reserved_range"],
    ["192.0.2.10", "reserved_range"],
    ["198.18.0.1", "reserved_range"],
    ["100.64.0.1", "reserved_range"],
    ["0.0.0.0/0", "reserved_range"],
    ["8.8.8.8", "public_address"],
    ["1.1.1.0/28", "public_address"],
    ["10.0.0.0/8", "network_too_large"],
    ["10.0.0.0/21", "network_too_large"],
    ["172.15.255.0/24", "public_address"],
    ["example.com", "hostname_not_allowed"],
    ["evil.lab.internal.attacker.com", "hostname_not_allowed"],
    ["lab.internal", "hostname_not_allowed"],
    ["xlab.internal", "hostname_not_allowed"],
    ["x.lab.internal.", "invalid_hostname"],
    ["bad_name.lab.internal", "forbidden_character"],
    ["-x.lab.internal", "option_injection"],
    ["a..lab.internal", "invalid_hostname"],
    ["\u0430pple.lab.internal", "non_ascii"],
    ["x.lab\uff0einternal", "non_ascii"],
    ["\uff11\uff10.0.0.1", "non_ascii"],
    ["::1", "ipv6_disabled"],
    ["10.0.0.1/33", "invalid_cidr"],
    ["10.0.0.1/08", "invalid_cidr"],
    ["10.0.0.1/24/8", "invalid_cidr"],
    ["", "empty_target"],
    [`${"a".repeat(250)}.lab.internal`, "too_long"],
    [`${"a".repeat(64)}.lab.internal`, "invalid_hostname"]
  ]
  it.each(cases)("%j is rejected with %s", (raw, rule) => {
    expect(ruleOf(raw)).toBe(rule)
  })

  it("every rejection names the target and explains itself", () => {
    const result = validateTarget("8.8.8.8", policy)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("TargetRejected")
      expect(result.left.target).toBe("8.8.8.8")
      expect(result.left.message).toMatch(/public/)
    }
  })
})

describe("target policy: accepted targets", () => {
  const cases: Array<[string, string]> = [
    ["10.0.0.5", "10.0.0.5"],
    ["192.168.1.1", "192.168.1.1"],
    ["172.31.255.254", "172.31.255.254"],
    ["127.0.0.1", "127.0.0.1"],
    ["192.168.1.0/24", "192.168.1.0/24"],
    ["192.168.1.77/24", "192.168.1.0/24"],
    ["10.1.2.3/32", "10.1.2.3"],
    ["10.0.0.0/22", "10.0.0.0/22"],
    ["Web.Lab.Internal", "web.lab.internal"],
    ["xn--80ak6aa92e.lab.internal", "xn--80ak6aa92e.lab.internal"]
  ]
  it.each(cases)("%s is accepted as %s", (raw, text) => {
    expect(ruleOf(raw)).toBe(`accepted:${text}`)
  })

  it("IPv6 only when enabled, and then only loopback and ULA", () => {
    expect(ruleOf("::1", withV6)).toBe("accepted:::1")
    expect(ruleOf("FD00:0:0:0:0:0:0:5", withV6)).toBe("accepted:fd00::5")
    expect(ruleOf("fd00::/120", withV6)).toBe("accepted:fd00::/120")
    expect(ruleOf("fd00::/64", withV6)).toBe("network_too_large")
    expect(ruleOf("2001:4860:4860::8888", withV6)).toBe("public_address")
    expect(ruleOf("fe80::1", withV6)).toBe("reserved_range")
    expect(ruleOf("ff02::1", withV6)).toBe("reserved_range")
    expect(ruleOf("::", withV6)).toBe("reserved_range")
    expect(ruleOf("::ffff:127.0.0.1", withV6)).toBe("reserved_range")
    expect(ruleOf("::ffff:8.8.8.8", withV6)).toBe("reserved_range")
    expect(ruleOf("::127.0.0.1", withV6)).toBe("reserved_range")
    expect(ruleOf("fe80::1%eth0", withV6)).toBe("forbidden_character")
    expect(ruleOf("[::1]", withV6)).toBe("forbidden_character")
  })

  it("an explicit CIDR can allow public addresses; the denied ranges still win", () => {
    const lab: TargetPolicyOptions = { ...policy, allowed: ["203.0.0.0/16", "169.254.0.0/16"] }
    expect(ruleOf("203.0.1.1", lab)).toBe("accepted:203.0.1.1")
    expect(ruleOf("169.254.169.254", lab)).toBe("reserved_range")
    expect(ruleOf("10.0.0.1", lab)).toBe("target_not_allowed")
  })

  it("a CIDR must lie wholly inside one allowed range", () => {
    const small: TargetPolicyOptions = { ...policy, allowed: ["10.0.0.0/25"] }
    expect(ruleOf("10.0.0.0/25", small)).toBe("accepted:10.0.0.0/25")
    expect(ruleOf("10.0.0.0/24", small)).toBe("target_not_allowed")
  })
})

describe("target policy: allow-list validation", () => {
  it("accepts aliases, CIDRs, addresses and suffixes", () => {
    expect(validateAllowList(["RFC1918", "loopback", "ULA", "rfc1918", "10.0.0.0/8", "fd00::/8", "10.0.0.1", ".lab.internal"])).toEqual([])
  })
  it("reports every invalid entry", () => {
    const problems = validateAllowList(["lab.internal", ".bad_suffix", "10.0.0.0/33", "0x7f.1", ".", "everything"])
    expect(problems).toHaveLength(6)
    expect(problems[0]).toMatch(/lab\.internal/)
  })
})

describe("isLoopbackHost", () => {
  it.each(["127.0.0.1", "127.8.9.10", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"])("%s is loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(true)
  })
  it.each(["0.0.0.0", "::", "10.0.0.1", "127.1", "example.com", "localhost.example.com", ""])("%s is not loopback", (host) => {
    expect(isLoopbackHost(host)).toBe(false)
  })
})

describe("target policy: properties", () => {
  const octet = fc.integer({ min: 0, max: 255 })
  const privateOrSpecial = (a: number, b: number) =>
    a === 10 || a === 127 || a === 0 || a >= 224 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)

  it.prop("random public IPv4 addresses are always rejected", [octet, octet, octet, octet], ([a, b, c, d]) => {
    fc.pre(!privateOrSpecial(a, b))
    const result = validateTarget(`${a}.${b}.${c}.${d}`, policy)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) expect(["public_address", "reserved_range"]).toContain(result.left.rule)
  })

  it.prop("random addresses inside 10/8 are always accepted and unchanged", [octet, octet, octet], ([b, c, d]) => {
    // 10.0.0.0 and 10.255.255.255 are the network and broadcast addresses of the RFC1918 alias's 10.0.0.0/8.
    fc.pre(!(b === 0 && c === 0 && d === 0) && !(b === 255 && c === 255 && d === 255))
    expect(ruleOf(`10.${b}.${c}.${d}`)).toBe(`accepted:10.${b}.${c}.${d}`)
  })

  it.prop(
    "arbitrary strings are never accepted unless they are a canonical target",
    [fc.string({ unit: "binary", maxLength: 40 })],
    ([raw]) => {
      const result = validateTarget(raw, policy)
      if (Either.isRight(result)) {
        expect(raw.toLowerCase().replace(/\/32$/, "")).toMatch(/^(?:\d{1,3}(?:\.\d{1,3}){3}(?:\/\d+)?|[a-z0-9.-]+\.lab\.internal)$/)
      }
    }
  )

  it.prop(
    "parsing a target's normalised text gives the same text",
    [octet, octet, octet, fc.integer({ min: 22, max: 32 })],
    ([b, c, d, prefix]) => {
      const first = parseTarget(`10.${b}.${c}.${d}/${prefix}`)
      expect(Either.isRight(first)).toBe(true)
      if (Either.isRight(first)) {
        const again = parseTarget(first.right.text)
        expect(Either.isRight(again) && again.right.text).toBe(first.right.text)
      }
    }
  )

  it.prop("IPv6 text round-trips through the canonical form", [fc.ipV6()], ([text]) => {
    const value = parseIPv6(text)
    expect(value).toBeDefined()
    if (value !== undefined) expect(parseIPv6(formatIPv6(value))).toBe(value)
  })
})

describe("allow-list entries", () => {
  it("are never looked up on the prototype", () => {
    expect(validateAllowList(["constructor", "toString"]).length).toBe(2)
  })
})

describe("item 3: addresses the deny-list used to miss", () => {
  /** Everything allowed, IPv6 on: only the always-denied ranges can refuse. */
  const everything: TargetPolicyOptions = { allowed: ["0.0.0.0/0", "::/0"], allowIpv6: true, maxNetworkSize: 65536 }

  it.each([
    ["fd00:ec2::254", "AWS"],
    ["fd00:ec2::253", "AWS"],
    ["fd00:ec2::123", "AWS"],
    ["fd00:ec2::23", "AWS"],
    ["fd20:ce::254", "Google"],
    ["fd00:c1::a9fe:a9fe", "Oracle"],
    ["fd00:a9fe:a9fe::1", "Linode"],
    ["fd00:42::42", "Scaleway"],
    ["fe80::a9fe:a9fe", "link-local"],
    ["168.63.129.16", "Azure"],
    ["169.254.169.254", "link-local"],
    ["169.254.170.2", "link-local"],
    ["169.254.0.23", "link-local"],
    ["169.254.42.42", "link-local"],
    ["100.100.100.200", "Alibaba"]
  ])("cloud metadata %s is refused whatever the allow-list says (%s)", (address, label) => {
    for (const options of [everything, withV6]) {
      const result = validateTarget(address, options)
      expect(Either.isLeft(result) && result.left.rule, address).toBe("reserved_range")
      if (Either.isLeft(result)) expect(result.left.message).toContain(label)
    }
  })

  it("a network holding a metadata address is refused", () => {
    expect(ruleOf("fd00:ec2::/120", everything)).toBe("reserved_range")
    expect(ruleOf("fd20:ce::200/120", everything)).toBe("reserved_range")
    expect(ruleOf("168.63.129.0/24", everything)).toBe("reserved_range")
  })

  const octet = fc.integer({ min: 0, max: 255 })
  const hex = (n: number) => n.toString(16)
  /** Every IPv6 spelling that embeds `a.b.c.d` and reaches it through a translator, a tunnel or the stack. */
  const embeddings = (a: number, b: number, c: number, d: number): ReadonlyArray<string> => [
    `::ffff:${a}.${b}.${c}.${d}`,
    `::ffff:0:${a}.${b}.${c}.${d}`,
    `::${a}.${b}.${c}.${d}`,
    `64:ff9b::${a}.${b}.${c}.${d}`,
    `64:ff9b:1::${a}.${b}.${c}.${d}`,
    `64:ff9b:1:ffff::${a}.${b}.${c}.${d}`,
    `2002:${hex(a * 256 + b)}:${hex(c * 256 + d)}::1`,
    `2001:0:${hex(a * 256 + b)}:${hex(c * 256 + d)}::1`,
    `2001:0:4136:e378:8000:63bf:${hex((255 - a) * 256 + 255 - b)}:${hex((255 - c) * 256 + 255 - d)}`
  ]

  it.prop("IPv6 addresses embedding any IPv4 address are refused, whatever the allow-list says", [octet, octet, octet, octet], (
    [a, b, c, d]
  ) => {
    fc.pre(a !== 0 || b !== 0 || c !== 0 || d > 1)
    for (const text of embeddings(a, b, c, d)) {
      const result = validateTarget(text, everything)
      expect(Either.isLeft(result) && result.left.rule, text).toBe("reserved_range")
    }
  })

  it("the embedding prefixes are refused as networks too", () => {
    for (const net of ["64:ff9b::/120", "64:ff9b:1::/120", "2001::/120", "2002:a9fe:a9fe::/120", "::ffff:0:0:0/120", "::ffff:0:0/120"]) {
      expect(ruleOf(net, everything), net).toBe("reserved_range")
    }
    expect(ruleOf("::1", everything)).toBe("accepted:::1")
    expect(ruleOf("2001:4860:4860::8888", everything)).toBe("accepted:2001:4860:4860::8888")
  })

  it("the broadcast and network addresses of an allowed network are not single targets", () => {
    const lab: TargetPolicyOptions = { ...policy, allowed: ["192.168.10.0/24", "10.0.0.0/8", "10.9.9.255/32", "172.16.0.0/31"] }
    expect(ruleOf("192.168.10.255", lab)).toBe("broadcast_address")
    expect(ruleOf("192.168.10.0", lab)).toBe("broadcast_address")
    expect(ruleOf("192.168.10.0/32", lab)).toBe("broadcast_address")
    expect(ruleOf("10.255.255.255", lab)).toBe("broadcast_address")
    expect(ruleOf("127.255.255.255")).toBe("broadcast_address")
    expect(ruleOf("192.168.10.1", lab)).toBe("accepted:192.168.10.1")
    expect(ruleOf("192.168.10.254", lab)).toBe("accepted:192.168.10.254")
    expect(ruleOf("192.168.10.0/24", lab)).toBe("accepted:192.168.10.0/24")
    // Interior to 10.0.0.0/8, and allowed on its own: the operator said so.
    expect(ruleOf("10.1.2.255", lab)).toBe("accepted:10.1.2.255")
    expect(ruleOf("10.9.9.255", lab)).toBe("accepted:10.9.9.255")
    // A /31 has no broadcast address (RFC 3021).
    expect(ruleOf("172.16.0.1", lab)).toBe("accepted:172.16.0.1")
    const message = validateTarget("192.168.10.255", lab)
    expect(Either.isLeft(message) && message.left.message).toContain("broadcast address of the allowed network 192.168.10.0/24")
  })

  it.prop("every allowed /8../30 network refuses its first and last address and accepts the others", [
    octet,
    octet,
    fc.integer({ min: 8, max: 30 }),
    fc.integer({ min: 1, max: 1000 })
  ], ([b, c, prefix, offset]) => {
    const size = 2 ** (32 - prefix)
    const base = (10 * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8) - ((10 * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8) % size)
    const text = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".")
    const lab: TargetPolicyOptions = { ...policy, allowed: [`${text(base)}/${prefix}`] }
    expect(ruleOf(text(base), lab)).toBe("broadcast_address")
    expect(ruleOf(text(base + size - 1), lab)).toBe("broadcast_address")
    const inner = base + 1 + (offset % (size - 2))
    expect(ruleOf(text(inner), lab)).toBe(`accepted:${text(inner)}`)
  })
})

describe("parseTarget: remembered successes", () => {
  it("gives the same answer the second time, past the cache's bound and for rejections", () => {
    const first = parseTarget("10.1.2.3")
    for (let i = 0; i < 3000; i++) parseTarget(`host${i}.example`)
    expect(parseTarget("10.1.2.3")).toStrictEqual(first)
    expect(Either.getOrThrow(parseTarget("LAB.Example")).text).toBe("lab.example")
    const rejected = parseTarget("010.0.0.1")
    const again = parseTarget("010.0.0.1")
    expect(Either.isLeft(again) && Either.isLeft(rejected) && again.left !== rejected.left).toBe(true)
    expect(again).toStrictEqual(rejected)
  })
})
