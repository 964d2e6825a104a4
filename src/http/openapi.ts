import { JSONSchema, Schema } from "effect"
import { ErrorBody } from "../errors.js"
import { ExecutionResult, ToolInfo, ToolInput } from "../execution/ToolExecutor.js"
import { ExecutionMeta } from "../mcp/toolResult.js"
import { HealthReport } from "../observability/Health.js"

/** REST wraps the error body in `detail` and adds the Retry-After seconds. */
const ErrorResponseBody = Schema.Struct({
  detail: Schema.Struct(
    {
      ...ErrorBody.fields,
      retry_after: Schema.optionalWith(
        Schema.Number.pipe(Schema.int()).annotations({ description: "Seconds to wait (also in Retry-After)" }),
        {
          exact: true
        }
      )
    },
    ...ErrorBody.records
  )
})

const SCHEMAS_PATH = "#/components/schemas/"

/** Sub-schemas with an identifier become components of their own, so every `$ref` the generator writes resolves in this document. */
const componentSchemas = (schemas: Readonly<Record<string, Schema.Schema.All>>) => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const named = Object.fromEntries(
    Object.entries(schemas).map(([name, schema]) => [
      name,
      JSONSchema.fromAST(schema.ast, { definitions, definitionPath: SCHEMAS_PATH, target: "openApi3.1", topLevelReferenceStrategy: "skip" })
    ])
  )
  return { ...definitions, ...named }
}

const schemas = componentSchemas({ ToolInput, ExecutionResult, ExecutionMeta, Error: ErrorResponseBody, HealthReport, ToolInfo })

const ref = (name: string) => ({ $ref: `${SCHEMAS_PATH}${name}` })

const json = (schema: unknown, description: string) => ({ description, content: { "application/json": { schema } } })

const errors = (...codes: ReadonlyArray<number>) =>
  Object.fromEntries(codes.map((code) => [String(code), json(ref("Error"), ERROR_DESCRIPTIONS[code] ?? "Error")]))

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid input, target or argument rejected by policy",
  401: "Missing or invalid API key",
  403: "Scope or policy forbids the call (e.g. intrusive operation not allowed)",
  404: "Unknown tool",
  409: "Tool disabled by an operator",
  413: "Body larger than server.max_body_bytes",
  415: "Content-Type is not application/json",
  429: "Rate limited (see Retry-After)",
  500: "The tool process could not be started",
  503: "Circuit open, tool busy or tool binary unavailable (see Retry-After)"
}

const toolName = { name: "name", in: "path", required: true, schema: { type: "string" }, description: "Tool name, e.g. NmapTool" }

/** OpenAPI 3.1 description of the REST API; its schemas are generated from the same Effect Schemas the server decodes and returns. */
export const openApiDocument = (info: { readonly name: string; readonly version: string }) => ({
  openapi: "3.1.0",
  info: {
    title: info.name,
    version: info.version,
    description: "Run network security tools under a target/argument policy. MCP clients use the Streamable HTTP endpoint /mcp."
  },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "API key; never accepted in the query string" } },
    schemas
  },
  security: [{ bearer: [] }],
  paths: {
    "/": {
      get: { summary: "Server information", security: [], responses: { "200": json({ type: "object" }, "Name, version, endpoints") } }
    },
    "/health": {
      get: {
        summary: "Health report",
        security: [],
        responses: {
          "200": json(ref("HealthReport"), "Healthy"),
          "207": json(ref("HealthReport"), "Degraded"),
          "503": json(ref("HealthReport"), "Unhealthy")
        }
      }
    },
    "/tools": {
      get: { summary: "List tools", responses: { "200": json({ type: "array", items: ref("ToolInfo") }, "Tools"), ...errors(401) } }
    },
    "/tools/{name}/execute": {
      post: {
        summary: "Execute a tool",
        description: "Needs the execute scope; intrusive operations also need the intrusive scope and security.allow_intrusive.",
        parameters: [toolName],
        requestBody: { required: true, content: { "application/json": { schema: ref("ToolInput") } } },
        responses: {
          "200": json(ref("ExecutionResult"), "The process ran (check error/timed_out for its outcome)"),
          ...errors(400, 401, 403, 404, 409, 413, 415, 429, 500, 503)
        }
      }
    },
    "/tools/{name}/enable": {
      post: {
        summary: "Enable a tool (admin scope)",
        parameters: [toolName],
        responses: { "200": json(ref("ToolInfo"), "The tool"), ...errors(401, 403, 404) }
      }
    },
    "/tools/{name}/disable": {
      post: {
        summary: "Disable a tool (admin scope)",
        parameters: [toolName],
        responses: { "200": json(ref("ToolInfo"), "The tool"), ...errors(401, 403, 404) }
      }
    },
    "/tools/{name}/circuit/open": {
      post: {
        summary: "Hold a tool's circuit breaker open until closed again (admin scope)",
        parameters: [toolName],
        responses: { "200": json(ref("ToolInfo"), "The tool"), ...errors(401, 403, 404) }
      }
    },
    "/tools/{name}/circuit/close": {
      post: {
        summary: "Close a tool's circuit breaker and forget its failures (admin scope)",
        parameters: [toolName],
        responses: { "200": json(ref("ToolInfo"), "The tool"), ...errors(401, 403, 404) }
      }
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics",
        security: [],
        responses: {
          "200": { description: "Prometheus text format", content: { "text/plain; version=0.0.4": { schema: { type: "string" } } } }
        }
      }
    },
    "/events": {
      get: {
        summary: "Server-sent events (admin scope): executions, breaker transitions, config reloads, health changes",
        responses: {
          "200": { description: "event: <type> / data: <json>", content: { "text/event-stream": { schema: { type: "string" } } } },
          ...errors(401, 403)
        }
      }
    },
    "/config": {
      get: {
        summary: "Effective configuration with secrets masked (admin scope)",
        responses: { "200": json({ type: "object" }, "Configuration"), ...errors(401, 403) }
      }
    },
    "/openapi.json": { get: { summary: "This document", security: [], responses: { "200": json({ type: "object" }, "OpenAPI 3.1") } } },
    "/mcp": {
      post: { summary: "MCP Streamable HTTP (JSON-RPC)", responses: { "200": { description: "JSON or SSE" }, ...errors(401, 403) } },
      get: { summary: "MCP server-to-client SSE stream", responses: { "200": { description: "SSE" } } },
      delete: { summary: "End an MCP session", responses: { "200": { description: "Closed" } } }
    }
  }
})
