import type { AppConfig } from "../config/schema.js"
import { builtinToolNames } from "../tools/builtinNames.js"

/**
 * Custom tools may not reuse a built-in name; those that set no limits get `tool.default_*`. Its own module,
 * so checking the custom tools at start-up loads neither the built-in specs nor any service (`core.ts`).
 */
export const customOptions = (config: AppConfig) => ({
  reservedNames: builtinToolNames,
  defaultTimeoutSeconds: config.tool.default_timeout,
  defaultConcurrency: config.tool.default_concurrency
})
