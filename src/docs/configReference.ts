import { Option, type SchemaAST as AST } from "effect"
import { environmentNames } from "../config/load.js"
import { AppConfig, defaults } from "../config/schema.js"
import { code, table, valueText } from "./markdown.js"
import { descriptionOf, fieldDefault, nestedStruct, rangeOf, structFields, typeText } from "./schemaText.js"

/**
 * The configuration reference, rendered from the AppConfig schema, its
 * defaults and the environment variable names the loader accepts, so the
 * README cannot describe a setting differently from what the server reads.
 */

export interface SettingDoc {
  /** Dotted path, e.g. `server.port`. */
  readonly path: string
  readonly environment: ReadonlyArray<string>
  readonly type: string
  readonly defaultValue: unknown
  readonly range: { readonly minimum: number; readonly maximum: number } | undefined
  readonly description: string
  /** Element struct of a list/map of objects, documented in its own table. */
  readonly nested: AST.AST | undefined
}

const defaultAt = (path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>(
    (acc, key) => (typeof acc === "object" && acc !== null ? (acc as Record<string, unknown>)[key] : undefined),
    defaults
  )

const settingDoc = (path: ReadonlyArray<string>, ast: AST.AST, env: ReadonlyMap<string, ReadonlyArray<string>>): SettingDoc => {
  const nested = nestedStruct(ast)
  const dotted = path.join(".")
  return {
    path: dotted,
    environment: env.get(dotted) ?? [],
    type: nested === undefined ? typeText(ast) : ast._tag === "TupleType" ? "list of objects" : "map of name to object",
    defaultValue: defaultAt(path),
    range: rangeOf(ast),
    description: descriptionOf(ast) ?? "",
    nested
  }
}

export interface SectionDoc {
  /** Section name, or `undefined` for the top-level settings that are not sections (`tools`, `custom_tools`). */
  readonly name: string | undefined
  readonly settings: ReadonlyArray<SettingDoc>
}

/** Every setting, grouped by section in schema order; top-level non-section settings come last. */
export const configSections = (): ReadonlyArray<SectionDoc> => {
  const env = new Map<string, Array<string>>()
  for (const { name, path } of environmentNames()) env.set(path, [...(env.get(path) ?? []), name])
  const sections: Array<SectionDoc> = []
  const topLevel: Array<SettingDoc> = []
  for (const [section, schema] of Object.entries(AppConfig.fields)) {
    const fields = structFields(schema.ast)
    if (fields === undefined) {
      topLevel.push(settingDoc([section], schema.ast, env))
      continue
    }
    sections.push({ name: section, settings: fields.map((field) => settingDoc([section, String(field.name)], field.type, env)) })
  }
  return [...sections, { name: undefined, settings: topLevel }]
}

const rangeText = (range: SettingDoc["range"]) => (range === undefined ? "" : `${range.minimum} – ${range.maximum}`)

const nestedTable = (title: string, struct: AST.AST): ReadonlyArray<string> => {
  const fields = structFields(struct) ?? []
  const rows = fields.map((field) => {
    const name = String(field.name)
    const fallback = fieldDefault(struct, name)
    const presence = Option.isSome(fallback)
      ? `optional, default ${code(valueText(fallback.value))}`
      : field.isOptional
      ? "optional"
      : "required"
    const type = nestedStruct(field.type) === undefined ? typeText(field.type) : "list of objects (see below)"
    return [code(name), type, presence, rangeText(rangeOf(field.type)), descriptionOf(field.type) ?? ""]
  })
  const inner = fields.flatMap((field) => {
    const child = nestedStruct(field.type)
    return child === undefined ? [] : nestedTable(`${title}.${String(field.name)}[]`, child)
  })
  return [`#### Fields of each \`${title}\` entry`, "", table(["Field", "Type", "Presence", "Range", "Description"], rows), "", ...inner]
}

/** The Markdown configuration reference placed between the README's `config` markers. */
export const renderConfigReference = (): string => {
  const lines: Array<string> = [
    "Every setting, its environment variable, type, default and allowed range. Precedence: defaults < config file (`--config` or `MCP_CONFIG_FILE`, YAML or JSON) < environment < command-line options. Numbers outside their range are clamped to it, with a warning. List and map settings are given in the environment as JSON (lists of plain strings also as comma-separated text).",
    ""
  ]
  for (const section of configSections()) {
    lines.push(section.name === undefined ? "### Tools and custom tools" : `### \`${section.name}\``, "")
    const rows = section.settings.map((s) => [
      code(s.path),
      s.environment.map(code).join(", "),
      s.type,
      code(valueText(s.defaultValue)),
      rangeText(s.range),
      s.description
    ])
    lines.push(table(["Setting", "Environment variable", "Type", "Default", "Range", "Description"], rows), "")
    for (const s of section.settings) {
      if (s.nested !== undefined) lines.push(...nestedTable(s.type.startsWith("map") ? `${s.path}.<name>` : s.path, s.nested))
    }
  }
  return lines.map((line) => line.replace(/[ \t]+$/, "")).join("\n").replace(/\n+$/, "")
}
