import { Either, ParseResult, Schema } from "effect"
import { InvalidInput } from "../errors.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { ToolInput } from "./ToolExecutor.js"

/**
 * What a caller's raw input may look like before it is decoded. A valid
 * `ToolInput` is two levels deep and holds at most a few hundred values; the
 * bounds leave room for any honest mistake while keeping a hostile document
 * (thousands of nested arrays) away from the decoder and its error
 * formatter, which recurse and would overflow the stack.
 */
export const MAX_INPUT_DEPTH = 32
export const MAX_INPUT_VALUES = 10_000

/** Walks `raw` without recursion; the first bound it breaks, or undefined. */
export const oversizedInput = (raw: unknown): string | undefined => {
  const stack: Array<readonly [unknown, number]> = [[raw, 1]]
  let values = 0
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!
    if (++values > MAX_INPUT_VALUES) return `input holds more than ${MAX_INPUT_VALUES} values`
    if (typeof value !== "object" || value === null) continue
    if (depth > MAX_INPUT_DEPTH) return `input nests deeper than ${MAX_INPUT_DEPTH} levels`
    for (const child of Array.isArray(value) ? value : Object.values(value)) stack.push([child, depth + 1])
  }
  return undefined
}

const decode = Schema.decodeUnknownEither(ToolInput, { onExcessProperty: "error", errors: "all" })

type Field = keyof typeof ToolInput.fields

/** What each field takes, in words a model can act on (the Schema's own messages name refinements, not values). */
const expected: Readonly<Record<Field, string>> = {
  target: "one IP address, host name or CIDR network as a string of 1 to 253 characters",
  args: "an array of at most 128 strings, one flag or value each (e.g. [\"-sV\", \"-p\", \"80\"]), or null",
  extra_args: "one string of at most 4096 characters, split on whitespace, or null",
  template: "a template name as a string, or null",
  timeout_sec: "a positive number of seconds, or null",
  correlation_id: "1 to 128 characters from A-Z a-z 0-9 . _ : -, or null",
  engagement: "an engagement name (letters, digits, . _ -), or null",
  approval_id: "the approval_id of an ApprovalRequired answer, or null"
}

const fields = Object.keys(expected) as ReadonlyArray<Field>

/** A short rendering of what the caller sent, for the error text. */
export const shown = (value: unknown): string => {
  if (value === undefined) return "nothing"
  const text = JSON.stringify(value) ?? String(value)
  return text.length <= 80 ? text : `${text.slice(0, 77)}...`
}

/** One line per offending field: the field, what it takes and what was given. */
const issuesOf = (raw: unknown, error: ParseResult.ParseError): ReadonlyArray<string> => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return [`(root): expected an object such as {"target": "10.0.0.5"}, given ${shown(raw)}`]
  }
  const given = raw as Record<string, unknown>
  const named = new Set<string>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) named.add(String(issue.path[0] ?? "(root)"))
  return [...named].map((name) =>
    fields.includes(name as Field)
      ? `${name}: expected ${expected[name as Field]}, given ${shown(given[name])}`
      : `${name}: not a field of the tool input; the fields are ${fields.join(", ")}`
  )
}

const invalid = (issues: ReadonlyArray<string>) =>
  new InvalidInput({ message: `invalid tool input: ${issues.join("; ")}. Fix these fields and call again.`, issues })

/**
 * A request body that was not JSON at all, handed to the executor as the
 * call's input so it meets the client's rate limit first and is audited
 * like any other malformed input, rather than refused unaccounted for.
 */
export class MalformedBody {
  constructor(readonly error: InvalidInput) {}
}

const isString = (value: unknown, max: number): value is string => typeof value === "string" && value.length <= max
const matches = (value: unknown, pattern: RegExp): value is string => typeof value === "string" && pattern.test(value)

/** Each field's check, exactly the schema's (lengths in UTF-16 code units, as `Schema.maxLength` counts). */
const QUICK: { readonly [F in Field]: (value: unknown) => boolean } = {
  target: (v) => isString(v, 253) && v.length >= 1,
  args: (v) => Array.isArray(v) && v.length <= 128 && v.every((token) => isString(token, 512)),
  extra_args: (v) => isString(v, 4096),
  template: (v) => typeof v === "string",
  timeout_sec: (v) => typeof v === "number" && v > 0,
  correlation_id: (v) => matches(v, /^[A-Za-z0-9._:-]{1,128}$/),
  engagement: (v) => matches(v, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
  approval_id: (v) => matches(v, /^[0-9A-Za-z]{1,64}$/)
}

/**
 * The decoded input when `raw` is a plain object of valid fields, built as
 * the schema builds it (fields in the schema's order, `null` as absent,
 * arrays copied); undefined for anything else, which the schema then decodes
 * and explains. Every call's input takes this path once, so it is the
 * schema's checks written out (test/execution/input.test.ts holds them equal).
 */
export const quickToolInput = (raw: unknown): ToolInput | undefined => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw) || Object.getPrototypeOf(raw) !== Object.prototype) {
    return undefined
  }
  const given = raw as Record<string, unknown>
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(QUICK, key)) return undefined
  }
  const out: Record<string, unknown> = {}
  for (const field of fields) {
    if (!Object.hasOwn(given, field)) continue
    const value = given[field]
    if (value === null && field !== "target") continue
    if (!QUICK[field](value)) return undefined
    out[field] = Array.isArray(value) ? [...value] : value
  }
  return Object.hasOwn(out, "target") ? (out as ToolInput) : undefined
}

/** The caller's input as a `ToolInput`, or `InvalidInput` naming every problem: the field, what it takes, what was given. */
export const decodeToolInput = (raw: unknown): Either.Either<ToolInput, InvalidInput> => {
  if (raw instanceof MalformedBody) return Either.left(raw.error)
  const oversized = oversizedInput(raw)
  if (oversized !== undefined) return Either.left(invalid([`(root): ${oversized}`]))
  const quick = quickToolInput(raw)
  if (quick !== undefined) return Either.right(quick)
  return Either.mapLeft(decode(raw), (error) => invalid(issuesOf(raw, error)))
}

/** The target a malformed input names, for its audit line: only a short string is taken as it is. */
export const claimedTarget = (raw: unknown): string => {
  const target = typeof raw === "object" && raw !== null ? (raw as { readonly target?: unknown }).target : undefined
  return typeof target === "string" ? target.slice(0, 253) : ""
}

/**
 * `ToolInput` as one tool accepts it: `template` is one of the tool's
 * template names, described with their arguments, and absent for a tool
 * without templates. Its JSON Schema is the tool's MCP `inputSchema`.
 */
export const toolInputFor = (spec: ToolSpec<any>) => {
  const { template: _template, ...fields } = ToolInput.fields
  const [first, ...rest] = spec.templates.map((t) => t.name)
  if (first === undefined) return Schema.Struct(fields)
  return Schema.Struct({
    ...ToolInput.fields,
    template: Schema.optionalWith(Schema.Literal(first, ...rest), { exact: true, nullable: true }).annotations({
      description: spec.templates.map((t) => `${t.name}: ${t.description} (${t.args.join(" ")})`).join("; ")
    })
  })
}
