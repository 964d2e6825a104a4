import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { builtinToolInfos, operator } from "../../bench/toolList.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { decodeToolInput } from "../../src/execution/input.js"
import { planArguments } from "../../src/execution/plan.js"
import { compareWithLastScan, offeredPrompts, type PromptEnv, prompts, renderPrompt } from "../../src/mcp/prompts.js"
import { builtinTools } from "../../src/tools/builtins.js"

const config = Schema.decodeUnknownSync(AppConfig)(defaults)
const tools = builtinToolInfos(config)
const env: PromptEnv = { tools, resourceTemplates: [] }

const textOf = (name: string, args: Record<string, string>, e: PromptEnv = env) => {
  const spec = prompts.find((p) => p.prompt.name === name)!
  const content = renderPrompt(spec, args, e).messages[0]!.content
  return content.type === "text" ? content.text : ""
}

/** The tool calls a plan spells out: `Tool {"target": …}`. */
const steps = (text: string) =>
  [...text.matchAll(/(\w+Tool) (\{[^\n]*?\}): /g)].map((m) => ({ tool: m[1]!, input: JSON.parse(m[2]!) as Record<string, unknown> }))

describe("prompts", () => {
  const cases: ReadonlyArray<readonly [string, Record<string, string>]> = [
    ["discover-network", { network: "10.0.0.0/24" }],
    ["audit-web-service", { target: "https://web.lab.internal:8443/login" }],
    ["audit-web-service", { target: "10.0.0.5" }],
    ["compare-with-last-scan", { target: "10.0.0.0/28", template: "quick" }]
  ]
  for (const [name, args] of cases) {
    it(`${name} ${JSON.stringify(args)}: every step is a call the argument policy accepts`, () => {
      const plan = steps(textOf(name, args))
      expect(plan.length).toBeGreaterThan(0)
      for (const step of plan) {
        const spec = builtinTools.find((t) => t.name === step.tool)
        expect(spec, step.tool).toBeDefined()
        const input = Either.getOrThrow(
          decodeToolInput(step.input.target === "<host>" ? { ...step.input, target: "10.0.0.5" } : step.input)
        )
        expect(planArguments(spec!, input, config, operator), JSON.stringify(step)).toMatchObject({ _tag: "Right" })
      }
    })
  }

  it("the web audit scans the host of a URL on its port, and probes TLS only when TlsProbeTool is listed", () => {
    const plan = steps(textOf("audit-web-service", { target: "https://web.lab.internal:8443/login" }))
    expect(plan.map((s) => s.tool)).toEqual(["NmapTool", "HttpProbeTool", "TlsProbeTool"])
    expect(plan[0]!.input).toMatchObject({ target: "web.lab.internal", args: ["-sV", "-p", "8443", "--script", expect.any(String)] })
    expect(plan[2]!.input).toEqual({ target: "web.lab.internal:8443" })
    const withoutTls = { ...env, tools: tools.filter((t) => t.name !== "TlsProbeTool") }
    expect(steps(textOf("audit-web-service", { target: "10.0.0.5" }, withoutTls)).map((s) => s.tool)).toEqual(["NmapTool", "HttpProbeTool"])
  })

  it("comparing uses ScanDiff or a diff:// resource when the server has them, and says there is no history otherwise", () => {
    expect(textOf("compare-with-last-scan", { target: "10.0.0.5" })).toContain("This server keeps no scan history")
    const scanDiff = { ...tools[0]!, name: "ScanDiff" }
    expect(compareWithLastScan.render({ target: "10.0.0.5" }, { ...env, tools: [...tools, scanDiff] })).toContain("Call ScanDiff")
    const diff = { ...env, resourceTemplates: [{ uriTemplate: "diff://{a}/{b}", name: "diff" }] }
    expect(compareWithLastScan.render({ target: "10.0.0.5" }, diff)).toContain("Read diff://{a}/{b}")
  })

  it("a prompt is offered only while the tools it needs are listed", () => {
    expect(offeredPrompts(env).map((p) => p.prompt.name)).toEqual(["discover-network", "audit-web-service", "compare-with-last-scan"])
    const nmapOnly = { ...env, tools: tools.filter((t) => t.name === "NmapTool") }
    expect(offeredPrompts(nmapOnly).map((p) => p.prompt.name)).toEqual(["discover-network", "compare-with-last-scan"])
    expect(offeredPrompts({ ...env, tools: [] })).toEqual([])
  })
})
