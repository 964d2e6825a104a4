import { JSONSchema, Schema } from "effect"
import type { BreakerState } from "../BreakerState.js"
import type { AppConfig } from "../config/schema.js"
import type { ToolStatsSnapshot } from "../observability/ToolStats.js"
import { flagValueText } from "../policy/flagText.js"
import type { RegisteredTool } from "../tools/ToolRegistry.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { toolInputFor } from "./input.js"
import type { ToolInfo } from "./ToolExecutor.js"

interface Schemas {
  readonly input: Record<string, unknown>
  readonly output: Record<string, unknown> | null
}

/**
 * A spec's JSON Schemas depend on the spec alone, and deriving them walks the
 * whole schema: made once per spec, not on every tool list (every MCP
 * session's start and `tools/list`, every `GET /tools`).
 */
const schemasOf = (() => {
  const made = new WeakMap<ToolSpec<any>, Schemas>()
  return (spec: ToolSpec<any>): Schemas => {
    const known = made.get(spec)
    if (known !== undefined) return known
    const schemas: Schemas = {
      input: JSONSchema.make(toolInputFor(spec)) as unknown as Record<string, unknown>,
      output: spec.outputSchema === undefined
        ? null
        : (JSONSchema.make(spec.outputSchema as Schema.Schema<unknown, any>) as unknown as Record<string, unknown>)
    }
    made.set(spec, schemas)
    return schemas
  }
})()

/** A tool's effective timeout and concurrency: its override or default, capped by the security limits. */
export const effectiveLimits = (spec: ToolSpec<any>, config: AppConfig) => ({
  timeoutSeconds: Math.min(config.tools[spec.name]?.timeout ?? spec.defaultTimeoutSeconds, config.security.timeout_seconds),
  concurrency: Math.min(config.tools[spec.name]?.concurrency ?? spec.defaultConcurrency, config.security.concurrency_limit)
})

/** Public description of a tool, as `/tools` and MCP `tools/list` show it. */
export const toolInfo = (tool: RegisteredTool, config: AppConfig, circuitState: BreakerState, stats: ToolStatsSnapshot): ToolInfo => {
  const { spec } = tool
  const { recent: _recent, ...summary } = stats
  return {
    name: spec.name,
    title: spec.title,
    description: spec.description,
    enabled: tool.enabled,
    available: tool.path !== null,
    unavailableReason: tool.unavailableReason,
    version: tool.version,
    binary: tool.path ?? spec.binary,
    intrusive: spec.intrusive,
    target: spec.target.kind,
    templates: spec.templates.map((t) => ({ name: t.name, description: t.description, args: t.args })),
    flags: spec.flags.map((f) => ({
      name: f.name,
      aliases: f.aliases ?? [],
      value: flagValueText(f.value),
      description: f.description,
      intrusive: f.intrusive === true,
      intrusiveValues: f.intrusiveValues ?? [],
      privileged: f.privileged === true
    })),
    keyFlags: spec.keyFlags ?? [],
    ...effectiveLimits(spec, config),
    circuitState,
    stats: summary,
    inputSchema: schemasOf(spec).input,
    outputSchema: schemasOf(spec).output,
    annotations: { title: spec.title, ...spec.annotations }
  }
}
