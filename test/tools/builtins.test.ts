import { describe, expect, it } from "@effect/vitest"
import { Either, JSONSchema, Schema } from "effect"
import { forbiddenFlags, validateArgs } from "../../src/policy/args.js"
import { builtinToolNames } from "../../src/tools/builtinNames.js"
import { builtinTools } from "../../src/tools/builtins.js"

describe("builtinTools", () => {
  it("has the public tool names, once each", () => {
    expect(builtinTools.map((t) => t.name)).toEqual([
      "NmapTool",
      "PingTool",
      "TracerouteTool",
      "DigTool",
      "MasscanTool",
      "HttpProbeTool",
      "TlsProbeTool"
    ])
  })

  it("are named, in order, by the list start-up checks custom tools against before it loads them", () => {
    expect(builtinTools.map((t) => t.name)).toEqual(builtinToolNames)
  })

  for (const spec of builtinTools) {
    describe(spec.name, () => {
      it("lists each flag spelling once and none that is forbidden server-wide", () => {
        const names = spec.flags.flatMap((f) => [f.name, ...(f.aliases ?? [])])
        expect(new Set(names).size).toBe(names.length)
        const forbidden = new Set(forbiddenFlags.map((f) => f.flag))
        expect(names.filter((n) => forbidden.has(n))).toEqual([])
      })

      it("has templates the argument policy accepts, intrusive only if the tool is", () => {
        for (const template of spec.templates) {
          const checked = validateArgs(spec, template.args, { allowIntrusive: true, maxArgsLength: 2048 })
          expect(Either.isRight(checked), `${template.name}: ${JSON.stringify(checked)}`).toBe(true)
          if (Either.isRight(checked)) expect(checked.right.intrusive).toBe(spec.intrusive)
        }
      })

      it("exports its output schema as a JSON object schema", () => {
        expect(JSONSchema.make(spec.outputSchema!)).toMatchObject({ type: "object" })
      })

      it("parses empty or garbage output into valid data without throwing", () => {
        for (const stdout of ["", "garbage\n<<<>>>", "<?xml version=\"1.0\"?><"]) {
          const parsed = spec.parse!(stdout, "some error\n")
          expect(Schema.is(spec.outputSchema!)(parsed.data)).toBe(true)
          expect(typeof parsed.summary).toBe("string")
        }
      })
    })
  }
})
