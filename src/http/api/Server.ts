import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JsonObject } from "../../JsonValue.js"
import { apiErrors } from "./errors.js"

export const ServerDescription = Schema.Struct({
  name: Schema.String,
  version: Schema.String,
  transport: Schema.Literal("http"),
  endpoints: Schema.Array(Schema.String).annotations({
    description: "\"METHOD /path\" of every endpoint (methods of one path joined by |)"
  }),
  mcp_endpoint: Schema.String.annotations({ description: "Where MCP clients connect (Streamable HTTP)" }),
  tools: Schema.Int.annotations({ description: "Registered tools" }),
  tools_enabled: Schema.Int.annotations({ description: "Tools currently enabled" })
}).annotations({ identifier: "ServerDescription", description: "Name, version and endpoints of this server" })

const OpenApiDocument = JsonObject.annotations({
  description: "OpenAPI 3.1 document of this API, generated from the same definition the server routes by"
})

/** What the server is and how to call it; no key needed, but only under an accepted Host. */
export const Server = HttpApiGroup.make("server")
  .add(HttpApiEndpoint.get("describe", "/").addSuccess(ServerDescription).annotate(OpenApi.Summary, "Server name, version and endpoints"))
  .add(HttpApiEndpoint.get("openapi", "/openapi.json").addSuccess(OpenApiDocument).annotate(OpenApi.Summary, "This document"))
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "About this server")
