import { describe, expect, it } from "@effect/vitest"
import { JSONSchema, Schema } from "effect"
import { builtinToolInfos, mcpTools, modelFacingTokens, operator, TOKEN_BUDGET } from "../../bench/toolList.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { ToolInput } from "../../src/execution/ToolExecutor.js"
import { scanDiffTool } from "../../src/mcp/scanDiff.js"
import { annotationsFor, firstSentence, flagTableUri, isListed, type ListContext } from "../../src/mcp/toolList.js"
import { geminiProblems, openAiStrictProblems } from "./support/schemaSubsets.js"

const config = Schema.decodeUnknownSync(AppConfig)(defaults)
const infos = builtinToolInfos(config)
const info = (name: string) => infos.find((t) => t.name === name)!
const executeOnly = { id: "k", transport: "mcp-http" as const, scopes: new Set(["execute" as const]) }

describe("the model-facing tool list", () => {
  for (const allow_intrusive of [false, true]) {
    describe(`with security.allow_intrusive ${allow_intrusive}`, () => {
      for (const tool of mcpTools({ allow_intrusive })) {
        it(`${tool.name}: at most ${TOKEN_BUDGET} tokens, a strict-mode schema, its flag table linked`, () => {
          expect(modelFacingTokens(tool)).toBeLessThanOrEqual(TOKEN_BUDGET)
          expect(openAiStrictProblems(tool.inputSchema)).toEqual([])
          expect(geminiProblems(tool.inputSchema)).toEqual([])
          expect(tool.description).toContain(flagTableUri(tool.name))
          expect(JSON.stringify(tool.inputSchema)).not.toMatch(/"title"|\$schema|maxLength\(|"positive"/)
        })
      }
    })
  }

  it(`ScanDiff, the server's own tool: at most ${TOKEN_BUDGET} tokens, a strict-mode schema, read-only and closed-world`, () => {
    expect(modelFacingTokens(scanDiffTool)).toBeLessThanOrEqual(TOKEN_BUDGET)
    expect(openAiStrictProblems(scanDiffTool.inputSchema)).toEqual([])
    expect(geminiProblems(scanDiffTool.inputSchema)).toEqual([])
    expect(scanDiffTool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, openWorldHint: false })
    expect(scanDiffTool.outputSchema?.properties).toHaveProperty("comparison")
  })

  it("the checkers refuse what strict callers refuse: Effect's own JSON Schema of the input fails both", () => {
    const raw = JSONSchema.make(ToolInput)
    expect(openAiStrictProblems(raw)).toEqual(expect.arrayContaining([
      "(root): keyword $schema is not supported",
      "(root): property args is not required (make it nullable)",
      "(root).properties.target: keyword minLength is not supported",
      "(root).properties.target: keyword title is not supported"
    ]))
    expect(geminiProblems(raw)).toEqual(expect.arrayContaining([
      "(root): keyword $schema is not supported",
      "(root).properties.timeout_sec.anyOf.0: keyword exclusiveMinimum is not supported"
    ]))
    expect(geminiProblems({ type: "object", properties: { a: { type: ["string", "null"] } } })).toEqual([
      "(root).properties.a: type arrays are not supported"
    ])
    expect(openAiStrictProblems({ type: "object", properties: { a: { type: "string" } }, required: ["a"] })).toEqual([
      "(root): additionalProperties must be false"
    ])
  })

  it("lists masscan only while intrusive operations are allowed and the caller may run them", () => {
    const masscan = info("MasscanTool")
    const on: ListContext = { allowIntrusive: true, caller: operator }
    expect(isListed(masscan, { allowIntrusive: false, caller: operator })).toBe(false)
    expect(isListed(masscan, on)).toBe(true)
    expect(isListed(masscan, { allowIntrusive: true, caller: executeOnly })).toBe(false)
    expect(isListed(info("NmapTool"), { allowIntrusive: false, caller: executeOnly })).toBe(true)
    expect(isListed(info("NmapTool"), { allowIntrusive: false, caller: { ...executeOnly, scopes: new Set() } })).toBe(false)
    expect(isListed({ ...info("NmapTool"), enabled: false }, on)).toBe(false)
    expect(isListed({ ...info("NmapTool"), available: false }, on)).toBe(false)
    expect(mcpTools().map((t) => t.name)).toContain("MasscanTool")
  })

  it("annotations say what a call can do now: a tool that can run intrusive operations is not read-only", () => {
    const off = annotationsFor(info("NmapTool"), { allowIntrusive: false, caller: operator })
    expect(off).toMatchObject({ readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true })
    const on = annotationsFor(info("NmapTool"), { allowIntrusive: true, caller: operator })
    expect(on).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true })
    expect(annotationsFor(info("NmapTool"), { allowIntrusive: true, caller: executeOnly })).toMatchObject({ readOnlyHint: true })
    expect(annotationsFor(info("PingTool"), { allowIntrusive: true, caller: operator })).toMatchObject({ readOnlyHint: true })
    expect(annotationsFor(info("DigTool"), { allowIntrusive: true, caller: operator })).toMatchObject({ readOnlyHint: false })
  })

  it("the description is what the tool does and its key flags; intrusive flags only when they can be used", () => {
    expect(firstSentence("Sends one request (e.g. a HEAD). Target: a host.")).toBe("Sends one request (e.g. a HEAD).")
    const [off] = mcpTools().filter((t) => t.name === "NmapTool")
    expect(off!.description).toMatch(
      /^Host discovery, port scanning, service\/version detection and NSE scripts with nmap\. Flags: -sT -sV -sC/
    )
    expect(off!.description).not.toMatch(/ -A /)
    expect(off!.inputSchema.properties?.["template"]).toEqual({
      anyOf: [{ type: "string", enum: ["quick", "standard", "thorough", "discovery"] }, { type: "null" }]
    })
  })
})
