import type { Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Schema } from "effect"
import { encode } from "gpt-tokenizer/encoding/o200k_base"
import { type AppConfig, AppConfig as AppConfigSchema, defaults } from "../src/config/schema.js"
import type { ToolInfo } from "../src/execution/ToolExecutor.js"
import { toolInfo } from "../src/execution/toolInfo.js"
import { ALL_SCOPES, type Caller } from "../src/identity/Caller.js"
import { type ListContext, toMcpTool } from "../src/mcp/toolList.js"
import { builtinTools } from "../src/tools/builtins.js"
import type { Row } from "./report.js"

/**
 * What a model pays for the tool list: per tool, the tokens of its name,
 * description and input schema (compact JSON) under o200k, the tokenizer of
 * GPT-4o and later. The budget is 200 per tool; the MCP reference servers
 * spend 80–120.
 */

export const TOKEN_BUDGET = 200

const emptyStats = {
  total: 0,
  active: 0,
  successRate: null,
  latencySeconds: { p50: null, p95: null, p99: null },
  errorsByType: {},
  timeouts: 0,
  window: 0,
  recent: []
}

/** Every built-in tool as `/tools` describes it, each as if its binary were installed. */
export const builtinToolInfos = (config: AppConfig): ReadonlyArray<ToolInfo> =>
  builtinTools.map((spec) =>
    toolInfo({ spec, path: `/usr/bin/${spec.binary}`, version: null, unavailableReason: null, enabled: true }, config, "CLOSED", emptyStats)
  )

export const modelFacingTokens = (tool: Pick<Tool, "name" | "description" | "inputSchema">): number =>
  encode(tool.name).length + encode(tool.description ?? "").length + encode(JSON.stringify(tool.inputSchema)).length

export const operator: Caller = { id: "bench", transport: "stdio", scopes: new Set(ALL_SCOPES) }

/** The MCP tool list of every built-in under a configuration, for a caller with every scope. */
export const mcpTools = (patch: Partial<typeof AppConfigSchema.Encoded["security"]> = {}): ReadonlyArray<Tool> => {
  const config = Schema.decodeUnknownSync(AppConfigSchema)({ ...defaults, security: { ...defaults.security, ...patch } })
  const context: ListContext = { allowIntrusive: config.security.allow_intrusive, caller: operator }
  return builtinToolInfos(config).map((tool) => toMcpTool(tool, context, true))
}

/** One row: the largest tool's tokens against the budget, with intrusive operations allowed (the longest flag lines). */
export const toolListBench = Effect.sync(() => {
  const tools = mcpTools({ allow_intrusive: true })
  const perTool = Object.fromEntries(tools.map((tool) => [tool.name, modelFacingTokens(tool)]))
  const largest = Math.max(...Object.values(perTool))
  const row: Row = {
    name: "MCP tool list, tokens per tool (o200k), largest",
    unit: "tokens",
    ours: largest,
    baseline: 100,
    baselineLabel: "MCP reference servers, ~80-120 per tool",
    target: { on: "ours", max: TOKEN_BUDGET },
    note: Object.entries(perTool).map(([name, tokens]) => `${name} ${tokens}`).join(", ")
  }
  return { rows: [row], details: { perTool } }
})
