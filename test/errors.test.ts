import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option } from "effect"
import { inspect } from "node:util"
import * as errors from "../src/errors.js"
import { errorBody } from "../src/errors.js"
import * as httpErrors from "../src/http/errors.js"

type ErrorClass = (new(props: any, options?: any) => Error) & { readonly fields: Record<string, unknown> }

const classes = (Object.entries({ ...errors, ...httpErrors }) as Array<[string, unknown]>).filter((entry): entry is [string, ErrorClass] =>
  typeof entry[1] === "function" && "fields" in entry[1] && "_tag" in entry[1]
)

/** Props of every field of the class, in the schema's order (no validation runs on either way of making it). */
const propsOf = (Class: ErrorClass): Record<string, unknown> =>
  Object.fromEntries(Object.keys(Class.fields).filter((key) => key !== "_tag").map((key, i) => [key, `${key} ${i}`]))

const described = (error: object) =>
  Reflect.ownKeys(error).map((key) => [String(key), Object.getOwnPropertyDescriptor(error, key)] as const)

/** A refusal has no stack frames; the other tagged errors keep theirs. */
const refusals = classes.filter(([, Class]) => !(new Class(propsOf(Class), true).stack ?? "").includes("\n"))

describe("Refusal", () => {
  it("covers the expected refusals and leaves the machine's failures their stacks", () => {
    const names = refusals.map(([name]) => name)
    expect(names).toContain("TargetRejected")
    expect(names).toContain("PayloadTooLarge")
    expect(names).not.toContain("SpawnFailed")
    expect(names).not.toContain("AuditUnavailable")
  })

  it.each(refusals)("%s made without options is the error Schema's constructor makes", (_name, Class) => {
    const props = propsOf(Class)
    const fast = new Class(props)
    const slow = new Class(props, true)
    expect(Object.getPrototypeOf(fast)).toBe(Object.getPrototypeOf(slow))
    expect(fast).toBeInstanceOf(Class)
    expect(fast).toBeInstanceOf(Error)
    expect(Object.prototype.toString.call(fast)).toBe("[object Error]")
    expect(described(fast)).toEqual(described(slow))
    expect(JSON.stringify(fast)).toBe(JSON.stringify(slow))
    expect(String(fast)).toBe(String(slow))
    expect(inspect(fast)).toBe(inspect(slow))
    expect(errorBody(fast as any)).toEqual(errorBody(slow as any))
    const cause = new Error("underlying")
    expect(described(new Class({ ...props, cause }))).toEqual(described(new Class({ ...props, cause }, true)))
    // The caller's props are copied, not kept.
    expect(Object.keys(props)).not.toContain("_tag")
  })

  it.effect("fails an effect like any tagged error", () =>
    Effect.gen(function*() {
      const error = new errors.TargetRejected({ target: "8.8.8.8", rule: "public_address", message: "public" })
      const exit = yield* Effect.exit(error)
      expect(Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined).toBe(error)
      expect(error._tag).toBe("TargetRejected")
      expect(error.message).toBe("public")
    }))

  it("validates when asked to", () => {
    expect(() => new errors.TargetRejected({ target: 1, rule: "r", message: "m" } as any, false)).toThrow()
  })
})
