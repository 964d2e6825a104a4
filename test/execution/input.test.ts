import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { quickToolInput } from "../../src/execution/input.js"
import { ToolInput } from "../../src/execution/ToolExecutor.js"

/** `quickToolInput` is the schema's decoding written out for valid input: it must never disagree with the schema. */

const schemaDecode = Schema.decodeUnknownEither(ToolInput, { onExcessProperty: "error", errors: "all" })
const FIELDS = Object.keys(ToolInput.fields)

/** Anything a client might send for one field: right and wrong types, edges of every bound. */
const fieldValue = FastCheck.oneof(
  FastCheck.constant(null),
  FastCheck.string({ maxLength: 8 }),
  FastCheck.constantFrom("", "x".repeat(253), "x".repeat(254), "x".repeat(4097), "lab-1", "a.b:c-d_e", "bad id", "10.0.0.5"),
  FastCheck.array(FastCheck.oneof(FastCheck.string({ maxLength: 4 }), FastCheck.constant("y".repeat(513)), FastCheck.integer()), {
    maxLength: 3
  }),
  FastCheck.constant(Array.from({ length: 129 }, () => "-v")),
  FastCheck.oneof(FastCheck.double(), FastCheck.constantFrom(0, -1, 1, 30.5)),
  FastCheck.boolean(),
  FastCheck.object({ maxDepth: 1 })
)

const candidate = FastCheck.dictionary(FastCheck.constantFrom(...FIELDS, "extra", "__proto__"), fieldValue, { maxKeys: 5 })

describe("the quick decoding of a tool input", () => {
  it.prop("agrees with the schema on every valid input, with nulls for absent fields", {
    input: Arbitrary.make(ToolInput),
    nulls: FastCheck.subarray(FIELDS.filter((field) => field !== "target"))
  }, ({ input, nulls }) => {
    const raw: Record<string, unknown> = JSON.parse(JSON.stringify(Schema.encodeSync(ToolInput)(input)))
    for (const field of nulls) if (!(field in raw)) raw[field] = null
    const decoded = schemaDecode(raw)
    const quick = quickToolInput(raw)
    if (Either.isLeft(decoded)) return expect(quick).toBeUndefined()
    expect(quick).toEqual(decoded.right)
    expect(Object.keys(quick!)).toEqual(Object.keys(decoded.right))
  })

  it.prop("never accepts what the schema refuses, nor decodes it differently", { raw: candidate }, ({ raw }) => {
    const quick = quickToolInput(raw)
    if (quick === undefined) return
    const decoded = schemaDecode(raw)
    expect(Either.isRight(decoded)).toBe(true)
    expect(quick).toEqual(Either.getOrThrow(decoded))
    expect(Object.keys(quick)).toEqual(Object.keys(Either.getOrThrow(decoded)))
  })

  it("leaves anything but a plain object to the schema", () => {
    expect(quickToolInput(["10.0.0.5"])).toBeUndefined()
    expect(quickToolInput(Object.assign(Object.create(null), { target: "10.0.0.5" }))).toBeUndefined()
    expect(quickToolInput("10.0.0.5")).toBeUndefined()
    expect(quickToolInput({ args: ["-sV"] })).toBeUndefined()
    expect(quickToolInput({ target: "10.0.0.5", args: ["-sV"], extra_args: null })).toEqual({ target: "10.0.0.5", args: ["-sV"] })
  })
})
