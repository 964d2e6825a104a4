import { Effect, Either, Option } from "effect"
import { readdir, readFile, realpath, stat } from "node:fs/promises"
import { basename, isAbsolute, join } from "node:path"
import type { CustomTool } from "../config/schema.js"
import { ConfigInvalid, SpawnFailed } from "../errors.js"
import { type ForbiddenFlag, forbiddenFlags, forbiddenFlagUse } from "../policy/args.js"
import type { FlagSpec, FlagValue } from "../policy/flags.js"
import { type LauncherKind, launcherKindByName, launcherMarkers, loaderDirectories } from "../policy/launchers.js"
import { forbiddenCharacter, safeToken } from "../policy/tokenize.js"
import { type BinaryFile, fileDigest, inspectBinary, resolveBinary, SAFE_PATH } from "../runner/resolveBinary.js"
import type { ToolSpec } from "./ToolSpec.js"

/**
 * Operator-defined tools (`custom_tools` in the config) become ToolSpecs like
 * the built-in ones, so the same argument and target policy applies. A custom
 * tool is rejected at load time when it could hand callers more than a flag
 * allow-list: a shell, interpreter, launcher or dynamic loader as the binary
 * (by name here; by what the real file is in `vetCustomBinary`), a flag or a
 * fixed argument that is forbidden server-wide in any spelling, duplicate
 * flags or empty value ranges.
 */

const binaryProblem = (binary: string): string | undefined => {
  if (binary.split("/").some((segment) => segment === "..")) return `binary '${binary}' contains '..'`
  if (binary.includes("/") && !binary.startsWith("/")) return `binary '${binary}' must be a bare name looked up on PATH or an absolute path`
  if (binary.endsWith("/")) return `binary '${binary}' is a directory`
  const base = binary.slice(binary.lastIndexOf("/") + 1)
  if (base.startsWith("-") || base.startsWith(".")) return `binary '${binary}' must not start with '-' or '.'`
  return launcherProblem(base, launcherKindByName(base))
}

const launcherProblem = (what: string, kind: LauncherKind | undefined): string | undefined =>
  kind === undefined
    ? undefined
    : `binary '${what}' is a ${kind}: it runs other programs or code from its arguments; a flag allow-list cannot make it safe`

/** A flag an operator lists, or a fixed argument, judged like a caller's token for a binary whose options are unknown. */
const forbiddenProblem = (token: string, forbidden: ReadonlyArray<ForbiddenFlag>, what = "flag"): string | undefined => {
  const use = forbiddenFlagUse(token, forbidden)
  return use === undefined
    ? undefined
    : `${what} ${token} is forbidden on this server${use.how === "" ? "" : ` as ${use.entry.flag}${use.how}`}: it ${use.entry.reason}`
}

/**
 * Fixed arguments go to the binary unchecked by any caller rule, so they get
 * the caller's: no forbidden flag in any spelling, safe characters only.
 */
const fixedArgProblems = (args: ReadonlyArray<string>, forbidden: ReadonlyArray<ForbiddenFlag>): ReadonlyArray<string> =>
  args.flatMap((arg) => {
    if (!safeToken.test(arg)) return [`fixed argument '${arg}': ${forbiddenCharacter(arg).message}`]
    const banned = arg.startsWith("-") ? forbiddenProblem(arg, forbidden, "fixed argument") : undefined
    return banned === undefined ? [] : [banned]
  })

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
  problems.push(...fixedArgProblems(tool.fixed_args, forbidden))
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
    vetBinary: vettedOnChange((path) => vetBinaryFile(path, { trustedScript: tool.trusted_script })),
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

interface InstalledProgram {
  readonly path: string
  readonly kind: LauncherKind
  readonly realPath: string
  readonly device: number
  readonly inode: number
  readonly size: number
}

const listDirectory = (dir: string) => readdir(dir).catch((): Array<string> => [])

/**
 * The shells, interpreters, launchers and loaders installed here: every file
 * with such a name in the search path and the loader directories, and every
 * login shell in /etc/shells, each with the identity of its real file.
 */
const installedLaunchers = (searchPath: string): Effect.Effect<ReadonlyArray<InstalledProgram>> =>
  Effect.promise(async () => {
    const dirs = [...new Set([...searchPath.split(":"), ...SAFE_PATH.split(":"), ...loaderDirectories])].filter((d) => isAbsolute(d))
    const named = await Promise.all(dirs.map(async (dir) => (await listDirectory(dir)).map((name) => join(dir, name))))
    const shells = (await readFile("/etc/shells", "utf8").catch(() => "")).split("\n").map((l) => l.trim()).filter((l) => l.startsWith("/"))
    const seen = new Set<string>()
    const out: Array<InstalledProgram> = []
    for (const path of [...named.flat(), ...shells]) {
      const kind = launcherKindByName(basename(path)) ?? (shells.includes(path) ? "shell" : undefined)
      if (kind === undefined) continue
      const real = await realpath(path).catch(() => undefined)
      const info = real === undefined ? undefined : await stat(real).catch(() => undefined)
      if (real === undefined || info === undefined || !info.isFile() || seen.has(`${info.dev}:${info.ino}`)) continue
      seen.add(`${info.dev}:${info.ino}`)
      out.push({ path, kind, realPath: real, device: info.dev, inode: info.ino, size: info.size })
    }
    return out
  })

/** The installed program a file is (the same file, or a byte-identical copy), if any. */
const sameProgram = (file: BinaryFile, installed: ReadonlyArray<InstalledProgram>) =>
  Effect.gen(function*() {
    const same = installed.find((p) => p.device === file.device && p.inode === file.inode)
    if (same !== undefined) return same
    const sized = installed.filter((p) => p.size === file.size)
    if (sized.length === 0) return undefined
    const digest = yield* fileDigest(file.realPath)
    for (const candidate of sized) {
      if (Option.getOrUndefined(yield* Effect.option(fileDigest(candidate.realPath))) === digest) return candidate
    }
    return undefined
  })

/**
 * Refuses a resolved custom-tool binary that is a shell, an interpreter, a
 * launcher or a dynamic loader by what the file is, not what it is called:
 * symlinks are followed, a `#!` script is refused (its interpreter would run
 * it) unless the operator marked it `trusted_script`, and so is a file carrying a loader's or BusyBox's marker, or the same
 * file as (or a byte-identical copy of) any such program installed here.
 */
export const vetBinaryFile = (
  path: string,
  options: { readonly searchPath?: string; readonly trustedScript?: boolean } = {}
): Effect.Effect<void, SpawnFailed> =>
  Effect.gen(function*() {
    const searchPath = options.searchPath ?? process.env["PATH"] ?? SAFE_PATH
    const refuse = (why: string) => new SpawnFailed({ command: path, message: `${path} is not accepted as a custom tool: ${why}` })
    const file = yield* inspectBinary(path, launcherMarkers.map((m) => m.text))
    const real = file.realPath === path ? "" : ` (the real file is ${file.realPath})`
    if (file.shebang !== undefined && options.trustedScript !== true) {
      return yield* refuse(
        `it is a script run by '${file.shebang}'${real}; give the program itself, or set trusted_script if the script never runs its arguments as code`
      )
    }
    const marker = launcherMarkers.find((m) => m.text === file.marker)
    if (marker !== undefined) return yield* refuse(`it is ${marker.what}${real}, which runs other programs`)
    const byName = launcherProblem(basename(file.realPath), launcherKindByName(basename(file.realPath)))
    if (byName !== undefined) return yield* refuse(`${byName}${real}`)
    const same = yield* sameProgram(file, yield* installedLaunchers(searchPath))
    if (same !== undefined) {
      return yield* refuse(`it is the ${same.kind} ${same.path}${real}; a flag allow-list cannot make it safe`)
    }
  })

/**
 * Vets a binary again only when the file behind the path changed (another
 * file, or the same one rewritten): the registry re-checks every tool
 * periodically, and a vet reads the whole file.
 */
const vettedOnChange = (vet: (path: string) => Effect.Effect<void, SpawnFailed>) => {
  let passed: string | undefined
  return (path: string): Effect.Effect<void, SpawnFailed> =>
    Effect.gen(function*() {
      const identity = yield* Effect.promise(() =>
        realpath(path).then((real) => stat(real).then((i) => `${path}|${real}|${i.dev}|${i.ino}|${i.size}|${i.mtimeMs}|${i.ctimeMs}`))
          .catch(() => undefined)
      )
      if (identity !== undefined && identity === passed) return
      passed = undefined
      yield* vet(path)
      passed = identity
    })
}

/** Resolves a custom tool's binary on the search path and vets the file it names; the resolved path on success. */
export const vetCustomBinary = (
  binary: string,
  searchPath: string = process.env["PATH"] ?? SAFE_PATH,
  trustedScript = false
): Effect.Effect<string, SpawnFailed> =>
  Effect.tap(resolveBinary(binary, searchPath), (path) => vetBinaryFile(path, { searchPath, trustedScript }))
