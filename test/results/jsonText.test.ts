import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { jsonArrayOf, jsonPieces, jsonText, jsonWithParts, knownJson, utf8Of } from "../../src/jsonText.js"
import { nmapSpec } from "../../src/tools/nmap/spec.js"
import { defaultResultLimits, runStream } from "../../src/tools/stream.js"
import { nmapXml, range, uniformHosts } from "../tools/nmap/generate.js"

/** Objects with members of every JSON kind, and members JSON leaves out. */
const member = FastCheck.oneof(
  FastCheck.jsonValue(),
  FastCheck.constant(undefined),
  FastCheck.constant(() => 1),
  FastCheck.date({ noInvalidDate: true })
)
const record = FastCheck.dictionary(FastCheck.string(), member)

describe("JSON encoded once", () => {
  it.prop("an object with some members given as text encodes exactly as JSON.stringify", { value: record }, ({ value }) => {
    const parts = Object.fromEntries(
      Object.entries(value).filter(([, v], i) => i % 2 === 0 && v !== undefined && typeof v !== "function")
        .map(([k, v]) => [k, JSON.stringify(v)])
    )
    expect(jsonWithParts(value, parts)).toBe(JSON.stringify(value))
  })

  it.prop("an array of members given as text encodes exactly as JSON.stringify", {
    values: FastCheck.array(FastCheck.jsonValue())
  }, ({ values }) => {
    expect(jsonArrayOf(values.map((v) => JSON.stringify(v)))).toBe(JSON.stringify(values))
  })

  it.prop("reuses recorded texts of a value or its direct members, and encodes as JSON.stringify", {
    value: record,
    inner: FastCheck.dictionary(FastCheck.string(), FastCheck.jsonValue())
  }, ({ inner, value }) => {
    const nested = { ...value, structured: knownJson({ ...inner }, JSON.stringify(inner)) }
    expect(jsonText(nested)).toBe(JSON.stringify(nested))
    expect(jsonText(value)).toBe(JSON.stringify(value))
    expect(jsonText([nested])).toBe(JSON.stringify([nested]))
    expect(jsonPieces(nested).join("")).toBe(JSON.stringify(nested))
    expect(jsonPieces(value).join("")).toBe(JSON.stringify(value))
    expect(jsonPieces([nested]).join("")).toBe(JSON.stringify([nested]))
    expect(jsonPieces(nested.structured)).toEqual([JSON.stringify(inner)])
  })

  it.prop(
    "utf8Of writes the bytes of each piece encoded by Buffer.from, one after another (multi-byte, lone surrogates)",
    [FastCheck.array(
      FastCheck.oneof(FastCheck.string(), FastCheck.string({ unit: "binary" }), FastCheck.constantFrom("\ud83d", "\ude00", "…", ""))
    )],
    ([pieces]) => {
      expect(utf8Of(pieces).equals(Buffer.concat(pieces.map((piece) => Buffer.from(piece, "utf8"))))).toBe(true)
    }
  )

  it("uses the recorded text, not the members (so a result is encoded by its parser once)", () => {
    const value = knownJson({ a: 1 }, "{\"a\":1}")
    expect(jsonText({ tool: "x", structured: value, n: null })).toBe("{\"tool\":\"x\",\"structured\":{\"a\":1},\"n\":null}")
    // A stale text shows that the recorded one was used.
    expect(jsonText({ structured: knownJson({ a: 2 }, "{\"a\":3}") })).toBe("{\"structured\":{\"a\":3}}")
  })

  it("the nmap stream parser records its result's JSON, the same text JSON.stringify writes", () => {
    const xml = nmapXml([
      ...uniformHosts(40, range(20000, 5)),
      { address: "127.0.1.9", open: [443], service: "product=\"nginx &amp; co\" version=\"1.2\" method=\"probed\" conf=\"10\"" },
      { address: "127.0.1.10", open: [8080], script: { id: "http-title", output: "Ünïcödé «title» &\nnext" } }
    ])
    const chunks = range(0, 40).map((i) => xml.slice(i * 1000, i === 39 ? xml.length : (i + 1) * 1000))
    const { data } = runStream(nmapSpec.stream!(defaultResultLimits), chunks, { partial: false })
    const recorded = jsonText(data)
    expect(recorded).toBe(JSON.stringify(data))
    expect(jsonText({ structured: data })).toBe(JSON.stringify({ structured: data }))
  })
})
