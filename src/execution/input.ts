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

const issuesOf = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)

/** The caller's input as a `ToolInput`, or `InvalidInput` naming every problem. */
export const decodeToolInput = (raw: unknown): Either.Either<ToolInput, InvalidInput> => {
  const oversized = oversizedInput(raw)
  if (oversized !== undefined) return Either.left(new InvalidInput({ message: "invalid tool input", issues: [`(root): ${oversized}`] }))
  return Either.mapLeft(decode(raw), (error) => new InvalidInput({ message: "invalid tool input", issues: issuesOf(error) }))
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
    template: Schema.optional(Schema.Literal(first, ...rest)).annotations({
      description: spec.templates.map((t) => `${t.name}: ${t.description} (${t.args.join(" ")})`).join("; ")
    })
  })
}
