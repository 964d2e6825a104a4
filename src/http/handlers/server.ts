import { type HttpApi, HttpApiBuilder, type HttpApiGroup } from "@effect/platform"
import { Effect } from "effect"
import { ToolExecutor } from "../../execution/ToolExecutor.js"
import type { ServerInfo } from "../../mcp/McpServer.js"
import { apiOf } from "../api/group.js"
import { Server } from "../api/Server.js"
import { endpointList, openApiDocument } from "../openapi.js"
import { json } from "./json.js"

/** `api` is the whole composed API: the endpoint list and the OpenAPI document describe all of it. */
export const ServerLive = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  info: ServerInfo
) =>
  HttpApiBuilder.group(apiOf(Server), "server", (handlers) =>
    Effect.gen(function*() {
      const executor = yield* ToolExecutor
      const endpoints = endpointList(api)
      // Built at the first request, then kept: the same for every request, and most servers are never asked for it.
      const document = yield* Effect.cached(Effect.sync(() => json(openApiDocument(api, info))))
      return handlers
        .handle("describe", () =>
          Effect.map(executor.list, (tools) =>
            json({
              name: info.name,
              version: info.version,
              transport: "http",
              endpoints,
              mcp_endpoint: "/mcp",
              tools: tools.length,
              tools_enabled: tools.filter((tool) => tool.enabled).length
            })))
        .handle("openapi", () => document)
    }))
