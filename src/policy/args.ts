import { Either } from "effect"
import { ArgumentRejected, IntrusiveNotAllowed } from "../errors.js"
import type { FlagSpec, FlagTable, FlagValue } from "./flags.js"
import { classifyScriptItem, MAX_SCRIPT_ITEMS } from "./nse.js"
import { forbiddenCharacter, safeToken } from "./tokenize.js"

/**
 * The argument policy: a caller's tokens are accepted only as flags from the
 * tool's table, each followed by a value of the declared type. Nothing is
 * passed through unchecked; the accepted list is re-emitted in canonical form
 * (`--flag=value` becomes two tokens), so what runs is what was checked.
 */

export interface ForbiddenFlag {
  readonly flag: string
  readonly reason: string
  /** Short flags that also take their value glued on (`-oN/tmp/x`, `-iLfile`). */
  readonly attached?: boolean
}

/**
 * Flags never accepted from callers, even if a tool table lists them: they read
 * or write files, run chosen code, spoof or relay traffic, or scan hosts that
 * are not the checked target. Output formats and the address family are set
 * by the server itself.
 */
export const forbiddenFlags: ReadonlyArray<ForbiddenFlag> = [
  { flag: "-iL", reason: "reads targets from a file on the server", attached: true },
  { flag: "-iR", reason: "scans random Internet hosts", attached: true },
  { flag: "--exclude", reason: "takes a host list; give exactly one target instead" },
  { flag: "--excludefile", reason: "reads a file on the server" },
  { flag: "-oN", reason: "writes a file on the server; the output format is set by the server", attached: true },
  { flag: "-oX", reason: "writes a file on the server; the output format is set by the server", attached: true },
  { flag: "-oG", reason: "writes a file on the server; the output format is set by the server", attached: true },
  { flag: "-oA", reason: "writes files on the server; the output format is set by the server", attached: true },
  { flag: "-oS", reason: "writes a file on the server; the output format is set by the server", attached: true },
  { flag: "-oM", reason: "writes a file on the server; the output format is set by the server", attached: true },
  { flag: "--append-output", reason: "appends to files on the server" },
  { flag: "--resume", reason: "reads a file on the server" },
  { flag: "--stylesheet", reason: "embeds a chosen stylesheet URL in the output" },
  { flag: "--webxml", reason: "embeds a remote stylesheet URL in the output" },
  { flag: "--script-args", reason: "passes arbitrary values (file names, credentials, extra targets) into scripts" },
  { flag: "--script-args-file", reason: "reads a file on the server" },
  { flag: "--script-updatedb", reason: "rewrites the server's script database" },
  { flag: "--datadir", reason: "loads scripts and data files from a chosen directory (code execution)" },
  { flag: "--servicedb", reason: "reads a chosen file on the server" },
  { flag: "--versiondb", reason: "reads a chosen file on the server" },
  { flag: "-S", reason: "spoofs the source address", attached: true },
  { flag: "-D", reason: "sends decoy probes that appear to come from other hosts", attached: true },
  { flag: "-e", reason: "chooses the server's network interface", attached: true },
  { flag: "-g", reason: "spoofs the source port", attached: true },
  { flag: "--source-port", reason: "spoofs the source port" },
  { flag: "--proxies", reason: "relays connections through third-party proxies" },
  { flag: "--proxy", reason: "relays connections through third-party proxies" },
  { flag: "--spoof-mac", reason: "spoofs the MAC address" },
  { flag: "--send-eth", reason: "the packet layer is chosen by the server" },
  { flag: "--send-ip", reason: "the packet layer is chosen by the server" },
  { flag: "--privileged", reason: "privileges are decided by the server" },
  { flag: "--unprivileged", reason: "privileges are decided by the server" },
  { flag: "--interactive", reason: "interactive mode is not available" },
  { flag: "-6", reason: "the address family follows from the checked target and is set by the server" },
  { flag: "-sI", reason: "an idle scan bounces probes off a third-party zombie host", attached: true },
  { flag: "-b", reason: "an FTP bounce scan relays probes through a third-party server", attached: true },
  { flag: "--dns-servers", reason: "sends queries to chosen DNS servers" },
  { flag: "--data", reason: "sends arbitrary payload bytes" },
  { flag: "--data-string", reason: "sends arbitrary payload bytes" },
  { flag: "--ip-options", reason: "sets IP options such as source routing" },
  { flag: "--iflist", reason: "discloses the server's interfaces and routes" }
]

export interface ArgsPolicyOptions {
  readonly allowIntrusive: boolean
  readonly maxArgsLength: number
  /** False when the caller's key lacks the `intrusive` scope. */
  readonly callerMayIntrude?: boolean
  /** Flags refused for this tool; defaults to `forbiddenFlags`. */
  readonly forbidden?: ReadonlyArray<ForbiddenFlag>
}

export interface ValidatedArgs {
  /** Canonical tokens: flag names from the table, each valued flag followed by its value. */
  readonly tokens: ReadonlyArray<string>
  readonly intrusive: boolean
  /** What made the call intrusive, e.g. `-A`, `--script brute`. */
  readonly intrusiveReasons: ReadonlyArray<string>
}

const rejected = (token: string, rule: string, message: string) => new ArgumentRejected({ token, rule, message })

const flagIndexCache = new WeakMap<ReadonlyArray<FlagSpec>, ReadonlyMap<string, FlagSpec>>()

const flagIndex = (flags: ReadonlyArray<FlagSpec>): ReadonlyMap<string, FlagSpec> => {
  const cached = flagIndexCache.get(flags)
  if (cached !== undefined) return cached
  const index = new Map<string, FlagSpec>()
  for (const flag of flags) {
    for (const name of [flag.name, ...(flag.aliases ?? [])]) index.set(name, flag)
  }
  flagIndexCache.set(flags, index)
  return index
}

const forbiddenIndexCache = new WeakMap<ReadonlyArray<ForbiddenFlag>, ReadonlyMap<string, ForbiddenFlag>>()

const forbiddenIndex = (forbidden: ReadonlyArray<ForbiddenFlag>): ReadonlyMap<string, ForbiddenFlag> => {
  const cached = forbiddenIndexCache.get(forbidden)
  if (cached !== undefined) return cached
  const index = new Map(forbidden.map((entry) => [entry.flag, entry] as const))
  forbiddenIndexCache.set(forbidden, index)
  return index
}

const forbiddenMessage = (entry: ForbiddenFlag, how = "") => `${entry.flag}${how} is not accepted: it ${entry.reason}`

export interface ForbiddenUse {
  readonly entry: ForbiddenFlag
  /** How the token spells it, e.g. ` (written as -datadir)`; empty when exact. */
  readonly how: string
}

/**
 * Finds the forbidden flag an unknown token stands for: a glued value
 * (`-oN/tmp/x`), or an abbreviated or single-dash long option, which nmap's
 * getopt_long_only would expand (`--datad`, `-datadir`).
 */
const forbiddenVariantOf = (token: string, forbidden: ReadonlyArray<ForbiddenFlag>): ForbiddenUse | undefined => {
  const name = token.split("=")[0] ?? token
  const long = name.startsWith("--") ? name : name.length > 2 ? `-${name}` : undefined
  const expanded = long === undefined || long.length < 4
    ? undefined
    : forbidden.find((entry) => entry.flag.startsWith("--") && entry.flag.startsWith(long))
  if (expanded !== undefined) return { entry: expanded, how: ` (written as ${token})` }
  const glued = forbidden.find((entry) => entry.attached === true && token.startsWith(entry.flag) && token.length > entry.flag.length)
  return glued === undefined ? undefined : { entry: glued, how: " (with a value attached)" }
}

const forbiddenVariant = (token: string, forbidden: ReadonlyArray<ForbiddenFlag>): ArgumentRejected | undefined => {
  const use = forbiddenVariantOf(token, forbidden)
  return use === undefined ? undefined : rejected(token, "forbidden_flag", forbiddenMessage(use.entry, use.how))
}

/**
 * The forbidden flag a token stands for, however it is written: exactly, with
 * `=value`, with a value glued on, or as a single-dash or abbreviated long
 * option. For flags whose binary's option table is unknown (custom tools).
 */
export const forbiddenFlagUse = (
  token: string,
  forbidden: ReadonlyArray<ForbiddenFlag> = forbiddenFlags
): ForbiddenUse | undefined => {
  const name = token.startsWith("--") ? token.split("=")[0] ?? token : token
  const exact = forbidden.find((entry) => entry.flag === name)
  return exact !== undefined ? { entry: exact, how: "" } : forbiddenVariantOf(token, forbidden)
}

const wholeMatch = (pattern: RegExp, value: string): boolean =>
  new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, "")).test(value)

const uint = /^(?:0|[1-9][0-9]{0,14})$/
const sint = /^-?(?:0|[1-9][0-9]{0,14})$/
const decimal = /^-?(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6})?$/
const portItem = /^(?:([TU]):)?(0|[1-9][0-9]{0,4})(?:-(0|[1-9][0-9]{0,4}))?$/
const duration = /^((?:0|[1-9][0-9]{0,8})(?:\.[0-9]{1,3})?)(ms|s|m|h)?$/
const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

interface CheckedValue {
  readonly value: string
  readonly intrusive: ReadonlyArray<string>
}

const validatePorts = (value: string, maxRanges: number): string | undefined => {
  const items = value.split(",")
  if (items.length > maxRanges) return `at most ${maxRanges} ports or ranges are accepted`
  for (const item of items) {
    const m = portItem.exec(item)
    if (m === null) return `'${item}' is not a port, a range lo-hi, or T:/U: followed by one`
    const lo = Number(m[2])
    const hi = m[3] === undefined ? lo : Number(m[3])
    if (lo < 1 || hi > 65535) return `'${item}': ports are 1-65535`
    if (lo > hi) return `'${item}': the range is reversed`
  }
  return undefined
}

const checkValue = (flag: FlagSpec, kind: FlagValue, value: string): Either.Either<CheckedValue, ArgumentRejected> => {
  const invalid = (why: string) => Either.left(rejected(value, "invalid_value", `Invalid value for ${flag.name}: ${why}`))
  const plain = (extra: ReadonlyArray<string> = []) => Either.right({ value, intrusive: extra })
  // A value that looks like an option could be re-read as one; only signed numbers may start with '-'.
  if (value.startsWith("-") && kind._tag !== "Int" && kind._tag !== "Number") return invalid("a value cannot start with '-'")
  switch (kind._tag) {
    case "None":
      return invalid("this flag takes no value")
    case "Int":
    case "Number": {
      const syntax = kind._tag === "Int" ? (kind.min < 0 ? sint : uint) : decimal
      const n = Number(value)
      // `-0` or `-1` where the range has no negatives would reach the binary as an option, not a number.
      if (!syntax.test(value) || (value.startsWith("-") && !(kind.min < 0 && n < 0))) {
        return invalid(`expected ${kind._tag === "Int" ? "an integer" : "a number"} between ${kind.min} and ${kind.max}`)
      }
      return n < kind.min || n > kind.max ? invalid(`must be between ${kind.min} and ${kind.max}`) : plain()
    }
    case "Enum":
      if (!kind.values.includes(value)) return invalid(`expected one of ${kind.values.join(", ")}`)
      return plain(flag.intrusiveValues?.includes(value) === true ? [`${flag.name} ${value}`] : [])
    case "Ports": {
      const problem = validatePorts(value, kind.maxRanges)
      return problem === undefined ? plain() : invalid(problem)
    }
    case "Duration": {
      const m = duration.exec(value)
      if (m === null) return invalid("expected a time such as 500ms, 5s, 2m, 1h or a number of seconds")
      const ms = Number(m[1]) * (unitMs[m[2] ?? "s"] ?? 1000)
      return ms < kind.minMs || ms > kind.maxMs ? invalid(`must be between ${kind.minMs}ms and ${kind.maxMs}ms`) : plain()
    }
    case "Scripts": {
      const items = value.split(",")
      if (items.some((item) => item === "")) return invalid("empty entry in the script list")
      if (items.length > MAX_SCRIPT_ITEMS) return invalid(`at most ${MAX_SCRIPT_ITEMS} scripts or categories are accepted`)
      const intrusive: Array<string> = []
      for (const item of items) {
        const verdict = classifyScriptItem(item)
        if (verdict._tag === "Refused") return Either.left(rejected(value, verdict.rule, verdict.message))
        if (verdict.intrusive || flag.intrusiveValues?.includes(item) === true) intrusive.push(`${flag.name} ${item}`)
      }
      return plain(intrusive)
    }
    case "Pattern": {
      return wholeMatch(kind.pattern, value) ? plain() : invalid(`expected ${kind.description}`)
    }
  }
}

const intrusiveRefusal = (reasons: ReadonlyArray<string>, options: ArgsPolicyOptions): IntrusiveNotAllowed =>
  new IntrusiveNotAllowed({
    token: reasons[0] ?? "",
    message: `${reasons.join(", ")} ${reasons.length > 1 ? "are" : "is"} intrusive; ${
      options.allowIntrusive
        ? "the caller's API key lacks the 'intrusive' scope"
        : "intrusive operations are disabled on this server (security.allow_intrusive)"
    }`
  })

/** Validates and normalises a caller's tokens against a tool's flag table. */
export const validateArgs = (
  spec: FlagTable,
  tokens: ReadonlyArray<string>,
  options: ArgsPolicyOptions
): Either.Either<ValidatedArgs, ArgumentRejected | IntrusiveNotAllowed> => {
  const unsafe = tokens.find((token) => !safeToken.test(token))
  if (unsafe !== undefined) return Either.left(forbiddenCharacter(unsafe))
  const length = tokens.join(" ").length
  if (length > options.maxArgsLength) {
    return Either.left(
      rejected(tokens.join(" ").slice(0, 64), "too_long", `Arguments are ${length} characters long; the limit is ${options.maxArgsLength}`)
    )
  }
  const flags = flagIndex(spec.flags)
  const forbiddenList = options.forbidden ?? forbiddenFlags
  const forbidden = forbiddenIndex(forbiddenList)
  const out: Array<string> = []
  const reasons: Array<string> = spec.intrusive ? [spec.name] : []
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? ""
    if (!token.startsWith("-") || token === "-" || token === "--") {
      return Either.left(
        rejected(
          token,
          "positional_argument",
          `'${token}' is not a flag of ${spec.name}; the target goes in 'target' and values follow their flag`
        )
      )
    }
    const eq = token.startsWith("--") ? token.indexOf("=") : -1
    const name = eq > 0 ? token.slice(0, eq) : token
    const inline = eq > 0 ? token.slice(eq + 1) : undefined
    const banned = forbidden.get(name)
    if (banned !== undefined) return Either.left(rejected(token, "forbidden_flag", forbiddenMessage(banned)))
    const flag = flags.get(name)
    if (flag === undefined) {
      return Either.left(
        forbiddenVariant(token, forbiddenList) ?? rejected(token, "unknown_flag", `${name} is not an accepted flag of ${spec.name}`)
      )
    }
    if (flag.intrusive === true) reasons.push(flag.name)
    if (flag.value._tag === "None") {
      if (inline !== undefined) return Either.left(rejected(token, "invalid_value", `${flag.name} takes no value`))
      out.push(flag.name)
      continue
    }
    const value = inline ?? tokens[i + 1]
    if (inline === undefined) i++
    if (value === undefined || value === "") return Either.left(rejected(token, "missing_value", `${flag.name} needs a value`))
    const checked = checkValue(flag, flag.value, value)
    if (Either.isLeft(checked)) {
      const nextIsFlag = inline === undefined && flags.has(value)
      return Either.left(nextIsFlag ? rejected(token, "missing_value", `${flag.name} needs a value`) : checked.left)
    }
    reasons.push(...checked.right.intrusive)
    out.push(flag.name, checked.right.value)
  }
  const intrusiveReasons = [...new Set(reasons)]
  if (intrusiveReasons.length > 0 && !(options.allowIntrusive && options.callerMayIntrude !== false)) {
    return Either.left(intrusiveRefusal(intrusiveReasons, options))
  }
  return Either.right({ tokens: out, intrusive: intrusiveReasons.length > 0, intrusiveReasons })
}
