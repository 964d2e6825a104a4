import { Effect } from "effect"
import type { ConfigSource, LoadedConfig } from "../config/ConfigLive.js"
import type { ToolSpec } from "../tools/ToolSpec.js"

/**
 * `serve --transport stdio`, loaded when it is asked for: the MCP server and
 * the SDK behind it are a lazily evaluated part of the bundle, so an HTTP
 * server evaluates them only when a client first uses `/mcp`.
 */
export const stdioProgram = (source: ConfigSource, loaded: LoadedConfig, custom: ReadonlyArray<ToolSpec<any>>) =>
  Effect.flatMap(Effect.promise(() => import("./stdioProgram.js")), (program) => program.stdioProgram(source, loaded, custom))
