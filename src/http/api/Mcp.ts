import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { JsonObject, JsonValue, jsonValue } from "../../JsonValue.js"
import { apiErrors } from "./errors.js"
import { Authenticated } from "./security.js"

/**
 * MCP Streamable HTTP. The SDK's transport answers the protocol's own
 * failures with a JSON-RPC error body, not the REST envelope; the body is
 * read (and size- and type-checked) before it reaches the transport.
 */

const JsonRpcError = Schema.Struct({
  jsonrpc: Schema.Literal("2.0"),
  error: Schema.Struct({ code: Schema.Int, message: Schema.String, data: Schema.optional(JsonValue) }),
  id: Schema.NullOr(Schema.Union(Schema.String, Schema.Number))
})

const rpcError = (status: number, description: string) =>
  JsonRpcError.annotations(HttpApiSchema.annotations({ identifier: "JsonRpcError", status, description }))

const RPC = {
  badRequest: rpcError(400, "No Mcp-Session-Id (send initialize first), an unsupported protocol version or an invalid message"),
  unknownSession: rpcError(404, "No such session, or one another key opened"),
  notAcceptable: rpcError(406, "The Accept header must include application/json and text/event-stream"),
  conflict: rpcError(409, "The session already has its SSE stream"),
  perClient: rpcError(429, "This key holds server.mcp_sessions_per_client sessions; close unused ones (DELETE /mcp)"),
  full: rpcError(503, "The server holds its maximum of sessions; close unused ones (DELETE /mcp)")
}

const post = HttpApiEndpoint.post("post", "/mcp")
  .setPayload(
    Schema.Union(JsonObject, Schema.Array(JsonObject)).annotations({
      description: "A JSON-RPC request, notification or response, or a batch of them"
    })
  )
  .addSuccess(jsonValue("The JSON-RPC response, or an SSE stream of messages (text/event-stream)"))
  .addSuccess(HttpApiSchema.Empty(202).annotations({ description: "Notification or response accepted" }))
  .addError(apiErrors("InvalidInput", "PayloadTooLarge", "UnsupportedMediaType"))
  .addError(RPC.badRequest)
  .addError(RPC.unknownSession)
  .addError(RPC.notAcceptable)
  .addError(RPC.perClient)
  .addError(RPC.full)
  .annotate(OpenApi.Summary, "Send MCP messages (initialize opens a session; Mcp-Session-Id names it)")

const get = HttpApiEndpoint.get("stream", "/mcp")
  .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({ description: "Server-to-client messages" }))
  .addError(RPC.badRequest)
  .addError(RPC.unknownSession)
  .addError(RPC.notAcceptable)
  .addError(RPC.conflict)
  .annotate(OpenApi.Summary, "The session's server-to-client SSE stream")

const del = HttpApiEndpoint.del("close", "/mcp")
  .addSuccess(HttpApiSchema.Empty(200).annotations({ description: "Session closed" }))
  .addError(RPC.badRequest)
  .addError(RPC.unknownSession)
  .annotate(OpenApi.Summary, "Close a session and abort its calls")

export const Mcp = HttpApiGroup.make("mcp")
  .add(post)
  .add(get)
  .add(del)
  .middleware(Authenticated)
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Model Context Protocol, Streamable HTTP transport")
