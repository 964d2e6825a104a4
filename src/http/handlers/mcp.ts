import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { Effect, Scope } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import type { Events } from "../../events/Events.js"
import type { ExecutionGate } from "../../execution/ExecutionGate.js"
import type { ToolExecutor } from "../../execution/ToolExecutor.js"
import type { ServerInfo } from "../../mcp/McpServer.js"
import { apiOf } from "../api/group.js"
import { Mcp } from "../api/Mcp.js"
import { CurrentCaller } from "../api/security.js"
import { readJsonBody } from "../body.js"

/**
 * MCP Streamable HTTP; the sessions live as long as the server (this layer's
 * scope). The handler, and the MCP SDK behind it, is loaded and made when a
 * client first uses `/mcp`: a server only ever asked over REST never holds them.
 */
export const McpLive = (info: ServerInfo) =>
  HttpApiBuilder.group(apiOf(Mcp), "mcp", (handlers) =>
    Effect.gen(function*() {
      const configService = yield* ConfigService
      const scope = yield* Effect.scope
      const context = yield* Effect.context<ToolExecutor | Events | ConfigService | ExecutionGate>()
      const handler = yield* Effect.cached(
        Effect.promise(() => import("../mcpHttp.js")).pipe(
          Effect.flatMap((module) => module.makeMcpHttpHandler(info)),
          Scope.extend(scope),
          Effect.provide(context)
        )
      )
      const serve = (request: HttpServerRequest.HttpServerRequest, body: unknown) =>
        Effect.gen(function*() {
          const config = yield* configService.get
          const caller = yield* CurrentCaller
          const mcp = yield* handler
          return yield* mcp.handle(request, { ...caller, transport: "mcp-http" }, body, {
            maxSessions: config.server.mcp_max_sessions,
            maxPerClient: config.server.mcp_sessions_per_client,
            idleTimeoutMs: config.server.mcp_session_idle_timeout * 1000
          })
        })
      return handlers
        .handleRaw("post", ({ request }) =>
          Effect.flatMap(configService.get, (config) => readJsonBody(request, config.server.max_body_bytes)).pipe(
            Effect.flatMap((body) => serve(request, body))
          ))
        .handle("stream", ({ request }) =>
          serve(request, undefined))
        .handle("close", ({ request }) => serve(request, undefined))
    }))
