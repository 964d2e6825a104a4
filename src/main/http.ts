import { Effect } from "effect"
import type { ConfigSource, LoadedConfig } from "../config/ConfigLive.js"
import type { ToolSpec } from "../tools/ToolSpec.js"

/**
 * `serve --transport http`, loaded when it is asked for: the HTTP stack (the
 * platform's server and router, OpenAPI, MCP Streamable HTTP) is a separate
 * lazily evaluated part of the bundle, so a stdio server never evaluates it.
 */
export const httpProgram = (source: ConfigSource, loaded: LoadedConfig, custom: ReadonlyArray<ToolSpec<any>>) =>
  Effect.flatMap(Effect.promise(() => import("./httpProgram.js")), (program) => program.httpProgram(source, loaded, custom))
