import { HttpApiBuilder, type HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import type { ServerInfo } from "../../mcp/McpServer.js"
import { apiOf } from "../api/group.js"
import { Mcp } from "../api/Mcp.js"
import { CurrentCaller } from "../api/security.js"
import { readJsonBody } from "../body.js"
import { makeMcpHttpHandler } from "../mcpHttp.js"

/** MCP Streamable HTTP; the sessions live as long as the server (this layer's scope). */
export const McpLive = (info: ServerInfo) =>
  HttpApiBuilder.group(apiOf(Mcp), "mcp", (handlers) =>
    Effect.gen(function*() {
      const configService = yield* ConfigService
      const mcp = yield* makeMcpHttpHandler(info)
      const serve = (request: HttpServerRequest.HttpServerRequest, body: unknown) =>
        Effect.gen(function*() {
          const config = yield* configService.get
          const caller = yield* CurrentCaller
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
