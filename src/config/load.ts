import { Either, ParseResult, Redacted, Schema } from "effect"
import { dirname, resolve } from "node:path"
import { parse as parseYaml } from "yaml"
import { ConfigInvalid } from "../errors.js"
import { isPlainObject, mergeDeep } from "./ConfigService.js"
import { AppConfig, defaults } from "./schema.js"

/**
 * Pure configuration loading: defaults < file < environment, validated and
 * clamped by the schema. Warnings (clamped values, ignored environment
 * variables) are returned, not logged, so callers decide where they go.
 */

export interface Loaded {
  readonly config: AppConfig
  readonly warnings: ReadonlyArray<string>
}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const decode = Schema.decodeUnknownEither(AppConfig, { onExcessProperty: "error", errors: "all" })

/**
 * Issue messages quote the offending value; under `auth` that value may be a
 * key pasted where its hash belongs, so only the expectation is kept.
 */
const formatIssues = (error: ParseResult.ParseError): ReadonlyArray<string> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join(".") : "(root)"
    const message = issue.path[0] === "auth" ? issue.message.replace(/, actual [\s\S]*$/, "") : issue.message
    return `${path}: ${message}`
  })

/**
 * Paths of every `__proto__` key in a parsed document. YAML and JSON parsers
 * create it as an own key, but merging it into an object replaces that
 * object's prototype instead: the key would vanish before the schema could
 * refuse it as unknown, and its values would be inherited everywhere.
 */
const protoKeys = (doc: unknown, prefix: string): ReadonlyArray<string> => {
  if (Array.isArray(doc)) return doc.flatMap((item, i) => protoKeys(item, `${prefix}[${i}]`))
  if (!isPlainObject(doc)) return []
  return Object.keys(doc).flatMap((key) => {
    const path = prefix === "" ? key : `${prefix}.${key}`
    return key === "__proto__" ? [path] : protoKeys(doc[key], path)
  })
}

const protoIssue = (path: string) => `${path}: is unexpected (a __proto__ key is never a setting)`

/** Parses a YAML or JSON document (YAML is a superset of JSON, so one parser serves both); any root, no `__proto__` key. */
export const parseDocument = (text: string, source: string): Either.Either<unknown, ConfigInvalid> => {
  let doc: unknown
  try {
    doc = text.trim() === "" ? null : parseYaml(text, { maxAliasCount: 50, prettyErrors: true })
  } catch (error) {
    return Either.left(
      new ConfigInvalid({ source, message: `${source} is not valid YAML/JSON`, issues: [String((error as Error).message)] })
    )
  }
  const proto = protoKeys(doc, "")
  if (proto.length > 0) {
    return Either.left(new ConfigInvalid({ source, message: `${source} has invalid settings`, issues: proto.map(protoIssue) }))
  }
  return Either.right(doc ?? null)
}

/** Parses a config file's text: a mapping of sections, or nothing. */
export const parseConfigText = (text: string, source: string): Either.Either<Record<string, unknown>, ConfigInvalid> =>
  Either.flatMap(parseDocument(text, source), (doc) => {
    if (doc === null || doc === undefined) return Either.right({})
    return isPlainObject(doc)
      ? Either.right(doc)
      : Either.left(new ConfigInvalid({ source, message: `${source} must hold a mapping of sections`, issues: [] }))
  })

/** One file of `engagements_dir`, as read. */
export interface EngagementFile {
  readonly name: string
  readonly text: string
}

/** The files of `engagements_dir` that hold engagements: YAML or JSON, not hidden, in name order. */
export const isEngagementFile = (name: string): boolean => !name.startsWith(".") && /\.(ya?ml|json)$/i.test(name)

export interface EngagementFiles {
  readonly dir: string
  readonly files: ReadonlyArray<EngagementFile>
}

/**
 * The absolute `engagements_dir` the file and environment name (relative
 * to the config file's directory, or to `cwd` without a file); undefined when
 * none is set or the configuration does not load anyway.
 */
export const engagementsDir = (
  options: { readonly fileText?: string; readonly env: Readonly<Record<string, string | undefined>> },
  configFile: string | undefined,
  cwd: string
): string | undefined => engagementsDirOf(loadConfig(options), configFile, cwd)

/** `engagementsDir` of a configuration already loaded without its engagement files. */
export const engagementsDirOf = (
  loaded: Either.Either<Loaded, ConfigInvalid>,
  configFile: string | undefined,
  cwd: string
): string | undefined => {
  if (Either.isLeft(loaded) || loaded.right.config.engagements_dir === "") return undefined
  return resolve(configFile === undefined ? cwd : dirname(resolve(cwd, configFile)), loaded.right.config.engagements_dir)
}

/**
 * The engagements of the files, in file order: each file holds one
 * engagement (a mapping) or a list of them. They are validated with the
 * inline ones, by the schema, once merged.
 */
export const engagementsOfFiles = (
  files: ReadonlyArray<EngagementFile>,
  dir: string
): Either.Either<ReadonlyArray<unknown>, ConfigInvalid> => {
  const out: Array<unknown> = []
  for (const file of files) {
    const source = `${dir}/${file.name}`
    const parsed = parseDocument(file.text, source)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    const value = parsed.right
    if (Array.isArray(value)) out.push(...value)
    else if (isPlainObject(value)) out.push(value)
    else {
      return Either.left(
        new ConfigInvalid({ source, message: `${source} must hold one engagement (a mapping) or a list of them`, issues: [] })
      )
    }
  }
  return Either.right(out)
}

/** Environment variable names that the spec uses besides the generated `MCP_<SECTION>_<KEY>` ones. */
const aliases: Readonly<Record<string, string>> = {
  LOG_LEVEL: "logging.level",
  LOG_FORMAT: "logging.format",
  MCP_MAX_MEMORY_MB: "security.max_memory_mb",
  MCP_MAX_FILE_DESCRIPTORS: "security.max_file_descriptors"
}

/** Variables the loader itself reads, or the spec lists but this server does not need. */
const notSettings: Readonly<Record<string, string | null>> = {
  MCP_CONFIG_FILE: null,
  MCP_CONFIG_ALLOW_INSECURE_PERMISSIONS: null,
  MCP_SERVER_WORKERS: "one Node process serves all connections; run more instances behind a proxy to scale out"
}

/**
 * `MCP_*` variables of other MCP software, which shares the prefix and
 * often the environment (a client passes its own to the servers it starts):
 * not settings of this server, and not worth a warning either. Each entry is
 * a prefix (ending in `_`) or a whole name.
 */
const otherTools: ReadonlyArray<string> = [
  "MCP_USE_", // mcp-use (client library and agents)
  "MCP_INSPECTOR_", // the MCP Inspector
  "MCP_PROXY_", // the Inspector's proxy (MCP_PROXY_PORT, MCP_PROXY_AUTH_TOKEN, MCP_PROXY_FULL_ADDRESS)
  "MCP_REMOTE_", // mcp-remote
  "MCP_AUTO_OPEN_ENABLED", // the Inspector
  "MCP_SERVER_REQUEST_TIMEOUT", // the Inspector
  "MCP_REQUEST_TIMEOUT_RESET_ON_PROGRESS", // the Inspector
  "MCP_REQUEST_MAX_TOTAL_TIMEOUT", // the Inspector
  "MCP_TIMEOUT", // Claude Code: server start-up timeout
  "MCP_TOOL_TIMEOUT" // Claude Code: tool call timeout
]

const ofAnotherTool = (name: string) => otherTools.some((entry) => (entry.endsWith("_") ? name.startsWith(entry) : name === entry))

/** Maps every settable leaf of the defaults to its environment variable name. */
export const environmentNames = (): ReadonlyArray<{ readonly name: string; readonly path: string }> => {
  const out: Array<{ name: string; path: string }> = []
  for (const [section, fields] of Object.entries(defaults)) {
    if (!isPlainObject(fields)) continue
    if (section === "tools") {
      out.push({ name: "MCP_TOOLS", path: "tools" })
      continue
    }
    for (const key of Object.keys(fields)) {
      out.push({ name: `MCP_${section}_${key}`.toUpperCase(), path: `${section}.${key}` })
    }
  }
  for (const path of ["custom_tools", "engagements", "engagements_dir"]) {
    if (!out.some((e) => e.path === path)) out.push({ name: `MCP_${path.toUpperCase()}`, path })
  }
  for (const [name, path] of Object.entries(aliases)) out.push({ name, path })
  return out
}

const getPath = (obj: unknown, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((acc, key) => (isPlainObject(acc) ? acc[key] : undefined), obj)

const setPath = (path: ReadonlyArray<string>, value: unknown): Record<string, unknown> =>
  path.reduceRight<unknown>((acc, key) => ({ [key]: acc }), value) as Record<string, unknown>

/** Coerces an environment string to the type of the setting's default value. */
const coerce = (raw: string, template: unknown): Either.Either<Json, string> => {
  const text = raw.trim()
  if (text.startsWith("[") || text.startsWith("{")) {
    let value: Json
    try {
      value = JSON.parse(text) as Json
    } catch {
      return Either.left("is not valid JSON")
    }
    const proto = protoKeys(value, "")
    return proto.length > 0 ? Either.left(`has a __proto__ key (${proto.join(", ")})`) : Either.right(value)
  }
  if (typeof template === "boolean") {
    const lower = text.toLowerCase()
    if (["true", "1", "yes", "on"].includes(lower)) return Either.right(true)
    if (["false", "0", "no", "off"].includes(lower)) return Either.right(false)
    return Either.left("must be true or false")
  }
  if (typeof template === "number") {
    const n = Number(text)
    return text === "" || !Number.isFinite(n) ? Either.left("must be a number") : Either.right(n)
  }
  if (Array.isArray(template)) {
    return Either.right(text === "" ? [] : text.split(",").map((s) => s.trim()).filter((s) => s.length > 0))
  }
  return Either.right(text)
}

/** Values of the auth section and the storage URL (it holds a password) stay out of warnings, which end up in logs. */
const shown = (path: string, value: unknown): string =>
  path.startsWith("auth.") || path === "storage.url" ? "[redacted]" : JSON.stringify(value)

const normaliseLevel = (path: string, value: Json): Json =>
  path === "logging.level" && typeof value === "string" ? value.toUpperCase() : value

/** Lists the numeric leaves the schema clamped, so operators learn their value was not taken as written. */
const clampWarnings = (input: unknown, output: unknown, prefix: string): ReadonlyArray<string> => {
  if (typeof input === "number" && typeof output === "number" && input !== output) {
    return [`${prefix}: ${input} is out of range, using ${output}`]
  }
  if (isPlainObject(input) && isPlainObject(output)) {
    return Object.keys(input).flatMap((key) => clampWarnings(input[key], output[key], prefix === "" ? key : `${prefix}.${key}`))
  }
  return []
}

/** Settings that take a protection away, said every time they are loaded. */
const unsafeWarnings = (config: AppConfig): ReadonlyArray<string> =>
  config.approvals.allow_self_approval_single_operator_lab
    ? [
      "approvals.allow_self_approval_single_operator_lab is on: a key may approve its own requests, so a model holding an approve key can approve itself; use it only in a one-person lab"
    ]
    : []

/**
 * Builds the effective configuration. A bad file fails the whole load (the
 * caller keeps the previous configuration); a bad environment value is
 * reported and skipped so it cannot discard the others.
 */
export const loadConfig = (options: {
  readonly fileText?: string
  readonly fileSource?: string
  readonly env: Readonly<Record<string, string | undefined>>
  /** The files of `engagements_dir`, read by the caller (see `engagementsDir`). */
  readonly engagementFiles?: EngagementFiles
}): Either.Either<Loaded, ConfigInvalid> => {
  const source = options.fileSource ?? "config file"
  const warnings: Array<string> = []
  let merged: unknown = defaults
  if (options.fileText !== undefined) {
    const parsed = parseConfigText(options.fileText, source)
    if (Either.isLeft(parsed)) return Either.left(parsed.left)
    merged = mergeDeep(defaults, parsed.right)
    const checked = decode(merged)
    if (Either.isLeft(checked)) {
      return Either.left(
        new ConfigInvalid({ source, message: `${source} has invalid settings`, issues: formatIssues(checked.left) })
      )
    }
  }

  const known = new Map(environmentNames().map((e) => [e.name, e.path]))
  // In code-unit order: the same on every machine (localeCompare follows the locale) and without loading ICU's
  // collation data, 3 MB of resident memory for the whole life of the process.
  for (const [name, raw] of Object.entries(options.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (raw === undefined) continue
    if (Object.hasOwn(notSettings, name)) {
      const why = notSettings[name]
      if (why) warnings.push(`${name} is ignored: ${why}`)
      continue
    }
    const path = known.get(name)
    if (path === undefined) {
      if (name.startsWith("MCP_") && !ofAnotherTool(name)) warnings.push(`${name} is not a known setting of this server and is ignored`)
      continue
    }
    const segments = path.split(".")
    const value = coerce(raw, getPath(defaults, segments))
    if (Either.isLeft(value)) {
      warnings.push(`${name}=${shown(path, raw)} ${value.left}; keeping ${path}=${shown(path, getPath(merged, segments))}`)
      continue
    }
    const candidate = mergeDeep(merged, setPath(segments, normaliseLevel(path, value.right)))
    const checked = decode(candidate)
    if (Either.isLeft(checked)) {
      warnings.push(
        `${name}=${shown(path, raw)} is invalid (${formatIssues(checked.left).join("; ")}); keeping ${path}=${
          shown(path, getPath(merged, segments))
        }`
      )
      continue
    }
    merged = candidate
  }

  if (options.engagementFiles !== undefined) {
    const { dir, files } = options.engagementFiles
    const fromFiles = engagementsOfFiles(files, dir)
    if (Either.isLeft(fromFiles)) return Either.left(fromFiles.left)
    const inline = getPath(merged, ["engagements"])
    merged = mergeDeep(merged, { engagements: [...(Array.isArray(inline) ? inline : []), ...fromFiles.right] })
  }

  return decode(merged).pipe(
    Either.mapLeft((error) =>
      new ConfigInvalid({ source: "configuration", message: "configuration is invalid", issues: formatIssues(error) })
    ),
    Either.map((config) => ({ config, warnings: [...warnings, ...clampWarnings(merged, config, ""), ...unsafeWarnings(config)] }))
  )
}

/** The dotted paths of every leaf that differs between two configurations. */
export const changedPaths = (before: unknown, after: unknown, prefix = ""): ReadonlyArray<string> => {
  if (Redacted.isRedacted(before) && Redacted.isRedacted(after)) {
    return Redacted.value(before) === Redacted.value(after) ? [] : [prefix]
  }
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)])
    return [...keys].flatMap((key) => changedPaths(before[key], after[key], prefix === "" ? key : `${prefix}.${key}`))
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix]
}
