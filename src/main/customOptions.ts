import type { AppConfig } from "../config/schema.js"
import { builtinTools } from "../tools/builtins.js"

/**
 * Custom tools may not reuse a built-in name; those that set no limits get `tool.default_*`. Its own module,
 * so checking the custom tools at start-up loads the built-in specs and not every service (`core.ts`).
 */
export const customOptions = (config: AppConfig) => ({
  reservedNames: builtinTools.map((t) => t.name),
  defaultTimeoutSeconds: config.tool.default_timeout,
  defaultConcurrency: config.tool.default_concurrency
})
