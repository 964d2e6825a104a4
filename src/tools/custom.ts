import { Either } from "effect"
import type { CustomTool } from "../config/schema.js"
import { ConfigInvalid } from "../errors.js"
import { type ForbiddenFlag, forbiddenFlags } from "../policy/args.js"
import type { FlagSpec, FlagValue } from "../policy/flags.js"
import type { ToolSpec } from "./ToolSpec.js"

/**
 * Operator-defined tools (`custom_tools` in the config) become ToolSpecs like
 * the built-in ones, so the same argument and target policy applies. A custom
 * tool is rejected at load time when it could hand callers more than a flag
 * allow-list: a shell or command runner as the binary, a flag that is
 * forbidden server-wide, duplicate flags or empty value ranges.
 */

/** Binaries that run other programs or code given as arguments: a flag allow-list means nothing for them. */
const commandRunners: ReadonlySet<string> = new Set([
  "sh",
  "bash",
  "dash",
  "zsh",
  "ksh",
  "mksh",
  "csh",
  "tcsh",
  "fish",
  "busybox",
  "env",
  "sudo",
  "su",
  "doas",
  "pkexec",
  "runuser",
  "setsid",
  "nohup",
  "nice",
  "ionice",
  "timeout",
  "stdbuf",
  "xargs",
  "chroot",
  "nsenter",
  "unshare",
  "ip",
  "capsh",
  "prlimit",
  "strace",
  "ltrace",
  "gdb",
  "script",
  "expect",
  "watch",
  "find",
  "awk",
  "gawk",
  "mawk",
  "sed",
  "perl",
  "python",
  "python2",
  "python3",
  "ruby",
  "node",
  "nodejs",
  "deno",
  "bun",
  "php",
  "lua",
  "tclsh",
  "wish",
  "rlwrap",
  "ssh",
  "scp",
  "rsync",
  "socat",
  "nc",
  "ncat",
  "netcat"
])

const interpreterVersioned = /^(python|perl|ruby|php|lua|node)[0-9.]*$/

const binaryProblem = (binary: string): string | undefined => {
  if (binary.split("/").some((segment) => segment === "..")) return `binary '${binary}' contains '..'`
  if (binary.includes("/") && !binary.startsWith("/")) return `binary '${binary}' must be a bare name looked up on PATH or an absolute path`
  if (binary.endsWith("/")) return `binary '${binary}' is a directory`
  const base = binary.slice(binary.lastIndexOf("/") + 1)
  if (base.startsWith("-") || base.startsWith(".")) return `binary '${binary}' must not start with '-' or '.'`
  if (commandRunners.has(base) || interpreterVersioned.test(base)) {
    return `binary '${base}' runs other programs or code from its arguments; a flag allow-list cannot make it safe`
  }
  return undefined
}

const forbiddenProblem = (name: string, forbidden: ReadonlyArray<ForbiddenFlag>): string | undefined => {
  const entry = forbidden.find((f) => f.flag === name || (f.attached === true && name.startsWith(f.flag)))
  return entry === undefined ? undefined : `flag ${name} is forbidden on this server: it ${entry.reason}`
}

const flagValue = (value: CustomTool["flags"][number]["value"]): FlagValue => {
  switch (value.type) {
    case "none":
      return { _tag: "None" }
    case "int":
      return { _tag: "Int", min: value.min, max: value.max }
    case "enum":
      return { _tag: "Enum", values: value.values }
  }
}

export interface CustomToolOptions {
  /** Names already in use (the built-in tools). */
  readonly reservedNames: ReadonlyArray<string>
  /** `tool.default_timeout` and `tool.default_concurrency`, for tools that set neither. */
  readonly defaultTimeoutSeconds: number
  readonly defaultConcurrency: number
  readonly forbidden?: ReadonlyArray<ForbiddenFlag>
}

/** Every problem with one custom tool, empty when it is acceptable. */
const customToolProblems = (
  tool: CustomTool,
  reservedNames: ReadonlyArray<string>,
  forbidden: ReadonlyArray<ForbiddenFlag> = forbiddenFlags
): ReadonlyArray<string> => {
  const problems: Array<string> = []
  if (reservedNames.includes(tool.name)) problems.push(`name '${tool.name}' is already taken by another tool`)
  const binary = binaryProblem(tool.binary)
  if (binary !== undefined) problems.push(binary)
  const seen = new Set<string>()
  for (const flag of tool.flags) {
    if (seen.has(flag.name)) problems.push(`flag ${flag.name} is listed more than once`)
    seen.add(flag.name)
    const banned = forbiddenProblem(flag.name, forbidden)
    if (banned !== undefined) problems.push(banned)
    if (flag.value.type === "int" && flag.value.min > flag.value.max) {
      problems.push(`flag ${flag.name}: min ${flag.value.min} is greater than max ${flag.value.max}`)
    }
    if (flag.value.type === "enum" && new Set(flag.value.values).size !== flag.value.values.length) {
      problems.push(`flag ${flag.name}: enum values repeat`)
    }
  }
  return problems
}

/** The ToolSpec of one custom tool, or ConfigInvalid listing every problem found. */
export const customToolSpec = (tool: CustomTool, options: CustomToolOptions): Either.Either<ToolSpec, ConfigInvalid> => {
  const problems = customToolProblems(tool, options.reservedNames, options.forbidden)
  if (problems.length > 0) {
    return Either.left(
      new ConfigInvalid({
        source: `custom_tools.${tool.name}`,
        message: `Custom tool ${tool.name} is not accepted: ${problems.join("; ")}`,
        issues: problems
      })
    )
  }
  const flags: ReadonlyArray<FlagSpec> = tool.flags.map((flag) => ({
    name: flag.name,
    value: flagValue(flag.value),
    description: flag.description,
    intrusive: flag.intrusive
  }))
  return Either.right({
    name: tool.name,
    title: tool.name,
    description: tool.description,
    binary: tool.binary,
    versionArgs: ["--version"],
    flags,
    templates: [],
    fixedArgs: tool.fixed_args,
    target: { kind: "host", toArgs: (pinned) => [pinned] },
    intrusive: tool.intrusive,
    defaultTimeoutSeconds: tool.timeout ?? options.defaultTimeoutSeconds,
    defaultConcurrency: tool.concurrency ?? options.defaultConcurrency,
    okExitCodes: [],
    // Nothing is known about what an operator's tool does, so no hint promises safety.
    annotations: { readOnlyHint: false, destructiveHint: tool.intrusive, idempotentHint: false, openWorldHint: true }
  })
}

/** Specs for all custom tools; names must differ from `reservedNames` (the built-ins) and from each other. */
export const customToolSpecs = (
  tools: ReadonlyArray<CustomTool>,
  options: CustomToolOptions
): Either.Either<ReadonlyArray<ToolSpec>, ConfigInvalid> => {
  const specs: Array<ToolSpec> = []
  const issues: Array<string> = []
  const taken = [...options.reservedNames]
  for (const tool of tools) {
    const spec = customToolSpec(tool, { ...options, reservedNames: taken })
    if (Either.isLeft(spec)) issues.push(...spec.left.issues.map((issue) => `${tool.name}: ${issue}`))
    else specs.push(spec.right)
    taken.push(tool.name)
  }
  return issues.length > 0
    ? Either.left(new ConfigInvalid({ source: "custom_tools", message: `Invalid custom tools: ${issues.join("; ")}`, issues }))
    : Either.right(specs)
}
