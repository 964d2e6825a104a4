/**
 * The JSON Schema subsets of strict function calling, as checkers: each
 * returns the problems it finds (empty when the schema is accepted), with
 * the path of each.
 *
 * OpenAI strict mode (Structured Outputs, "Supported schemas"): the root is
 * an object; every object sets `additionalProperties: false` and lists every
 * property in `required` (optional fields are nullable instead); only the
 * keywords below; at most 10 levels of nesting, 5000 properties, 1000 enum
 * values per enum.
 *
 * Gemini (function declarations): the OpenAPI 3.0 `Schema` subset — one type
 * name per schema (no type arrays: nullable is `anyOf` with `{type: "null"}`
 * or `nullable: true`), no `$ref`, `$defs`, `const`, `oneOf`, `allOf`,
 * `exclusiveMinimum` — plus `additionalProperties`, which the JSON-Schema
 * form of a declaration (`parametersJsonSchema`, what Google's MCP adapters
 * send) accepts and the client libraries strip for the legacy `parameters`
 * form. Enums are lists of strings on string schemas.
 */

type Json = Record<string, unknown>

const OPENAI_KEYWORDS = new Set([
  "type",
  "properties",
  "required",
  "additionalProperties",
  "items",
  "enum",
  "const",
  "anyOf",
  "description",
  "$ref",
  "$defs",
  "pattern",
  "format",
  "multipleOf",
  "maximum",
  "exclusiveMaximum",
  "minimum",
  "exclusiveMinimum",
  "minItems",
  "maxItems"
])
const OPENAI_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"])
const OPENAI_FORMATS = new Set(["date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"])

const GEMINI_KEYWORDS = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "anyOf",
  "propertyOrdering",
  "default",
  "items",
  "minimum",
  "maximum",
  "additionalProperties"
])
const GEMINI_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"])

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const children = (schema: Json): ReadonlyArray<readonly [string, unknown]> => [
  ...Object.entries(isObject(schema["properties"]) ? schema["properties"] : {}).map(([k, v]) => [`properties.${k}`, v] as const),
  ...(schema["items"] === undefined ? [] : [["items", schema["items"]] as const]),
  ...(Array.isArray(schema["anyOf"]) ? schema["anyOf"].map((v, i) => [`anyOf.${i}`, v] as const) : []),
  ...Object.entries(isObject(schema["$defs"]) ? schema["$defs"] : {}).map(([k, v]) => [`$defs.${k}`, v] as const)
]

const typesOf = (schema: Json): ReadonlyArray<unknown> =>
  schema["type"] === undefined ? [] : Array.isArray(schema["type"]) ? schema["type"] : [schema["type"]]

const openAiNode = (schema: Json, path: string, depth: number, problems: Array<string>): void => {
  for (const key of Object.keys(schema)) if (!OPENAI_KEYWORDS.has(key)) problems.push(`${path}: keyword ${key} is not supported`)
  for (const type of typesOf(schema)) if (!OPENAI_TYPES.has(String(type))) problems.push(`${path}: type ${String(type)}`)
  if (schema["type"] === undefined && schema["anyOf"] === undefined && schema["$ref"] === undefined && schema["enum"] === undefined) {
    problems.push(`${path}: no type`)
  }
  if (typeof schema["format"] === "string" && !OPENAI_FORMATS.has(schema["format"])) problems.push(`${path}: format ${schema["format"]}`)
  if (Array.isArray(schema["enum"]) && schema["enum"].length > 1000) problems.push(`${path}: more than 1000 enum values`)
  if (typesOf(schema).includes("object") || isObject(schema["properties"])) {
    if (schema["additionalProperties"] !== false) problems.push(`${path}: additionalProperties must be false`)
    const keys = Object.keys(isObject(schema["properties"]) ? schema["properties"] : {})
    const required = Array.isArray(schema["required"]) ? schema["required"] : []
    for (const key of keys) if (!required.includes(key)) problems.push(`${path}: property ${key} is not required (make it nullable)`)
  }
  if (depth > 10) problems.push(`${path}: nested deeper than 10 levels`)
  for (const [key, child] of children(schema)) {
    if (isObject(child)) openAiNode(child, `${path}.${key}`, depth + (key.startsWith("properties.") ? 1 : 0), problems)
    else problems.push(`${path}.${key}: not a schema`)
  }
}

export const openAiStrictProblems = (schema: unknown): ReadonlyArray<string> => {
  if (!isObject(schema)) return ["(root): not an object schema"]
  const problems: Array<string> = []
  if (schema["type"] !== "object") problems.push("(root): the root must be type object")
  if (schema["anyOf"] !== undefined) problems.push("(root): the root cannot be anyOf")
  openAiNode(schema, "(root)", 1, problems)
  return problems
}

const geminiNode = (schema: Json, path: string, problems: Array<string>): void => {
  for (const key of Object.keys(schema)) if (!GEMINI_KEYWORDS.has(key)) problems.push(`${path}: keyword ${key} is not supported`)
  const type = schema["type"]
  if (Array.isArray(type)) problems.push(`${path}: type arrays are not supported`)
  else if (type !== undefined && !GEMINI_TYPES.has(String(type))) problems.push(`${path}: type ${String(type)}`)
  if (type === undefined && schema["anyOf"] === undefined) problems.push(`${path}: no type`)
  if (schema["enum"] !== undefined) {
    if (type !== "string") problems.push(`${path}: enum on a non-string schema`)
    if (!Array.isArray(schema["enum"]) || schema["enum"].some((v) => typeof v !== "string")) {
      problems.push(`${path}: enum values must be strings`)
    }
  }
  if (schema["additionalProperties"] !== undefined && typeof schema["additionalProperties"] !== "boolean") {
    problems.push(`${path}: additionalProperties must be a boolean`)
  }
  const keys = Object.keys(isObject(schema["properties"]) ? schema["properties"] : {})
  for (const name of Array.isArray(schema["required"]) ? schema["required"] : []) {
    if (!keys.includes(String(name))) problems.push(`${path}: required ${String(name)} is not a property`)
  }
  for (const [key, child] of children(schema)) {
    if (isObject(child)) geminiNode(child, `${path}.${key}`, problems)
    else problems.push(`${path}.${key}: not a schema`)
  }
}

export const geminiProblems = (schema: unknown): ReadonlyArray<string> => {
  if (!isObject(schema)) return ["(root): not an object schema"]
  const problems: Array<string> = []
  if (schema["type"] !== "object") problems.push("(root): the root must be type object")
  geminiNode(schema, "(root)", problems)
  return problems
}
