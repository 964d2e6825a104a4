import { HttpRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, type Scope, Stream } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { Events } from "../events/Events.js"
import { ToolExecutor } from "../execution/ToolExecutor.js"
import type { CallerScope } from "../identity/Caller.js"
import { type Caller } from "../identity/Caller.js"
import type { ServerInfo } from "../mcp/McpServer.js"
import { Health, statusCode } from "../observability/Health.js"
import { MetricsExporter } from "../observability/MetricsExporter.js"
import { authenticate, rejectSecretsInQuery, requireScope } from "./auth.js"
import { readJsonBody } from "./body.js"
import { errorResponse, type HttpError } from "./errorStatus.js"
import { checkHostOrigin } from "./hostCheck.js"
import { makeMcpHttpHandler } from "./mcpHttp.js"
import { openApiDocument } from "./openapi.js"
import { redactConfig } from "./redact.js"
import { eventStream } from "./sse.js"

export const ENDPOINTS = [
  "GET /",
  "GET /health",
  "GET /tools",
  "POST /tools/{name}/execute",
  "POST /tools/{name}/enable",
  "POST /tools/{name}/disable",
  "POST /tools/{name}/circuit/open",
  "POST /tools/{name}/circuit/close",
  "GET /metrics",
  "GET /events",
  "GET /config",
  "GET /openapi.json",
  "POST|GET|DELETE /mcp"
] as const

/** Probes and scrapers reach these by pod IP or service name, and they reveal nothing a rebinding page could abuse. */
const HOST_CHECK_EXEMPT = new Set(["/health", "/metrics"])

const json = (body: unknown, status = 200) => HttpServerResponse.unsafeJson(body, { status })

const fail = (error: HttpError) => {
  const { body, headers, status } = errorResponse(error)
  return HttpServerResponse.unsafeJson(body, { status, headers })
}

const searchParams = (request: HttpServerRequest.HttpServerRequest) => new URL(request.url, "http://localhost").searchParams

const pathOf = (request: HttpServerRequest.HttpServerRequest) => new URL(request.url, "http://localhost").pathname

/** The authenticated caller, with `scope` when given. */
const authorize = (config: AppConfig, transport: Caller["transport"], scope?: CallerScope) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const caller = yield* authenticate(config, {
      headers: request.headers,
      searchParams: searchParams(request),
      remoteAddress: Option.getOrUndefined(request.remoteAddress)
    }, transport)
    return scope === undefined ? caller : yield* requireScope(caller, scope)
  })

const toolName = HttpRouter.params.pipe(Effect.map((params) => params["name"] ?? ""))

/**
 * The REST API, `/mcp` and the operational endpoints as one HTTP app. Every
 * typed failure becomes `{ detail: { _tag, message, … } }` with the status of
 * `errorStatus`; `port` is the bound port, for Host validation.
 */
export const makeHttpApp = (
  info: ServerInfo,
  port: number
): Effect.Effect<
  Effect.Effect<HttpServerResponse.HttpServerResponse, never, HttpServerRequest.HttpServerRequest>,
  never,
  ToolExecutor | ConfigService | Health | MetricsExporter | Events | Scope.Scope
> =>
  Effect.gen(function*() {
    const configService = yield* ConfigService
    const executor = yield* ToolExecutor
    const health = yield* Health
    const metrics = yield* MetricsExporter
    const events = yield* Events
    const mcp = yield* makeMcpHttpHandler(info)

    const setEnabled = (enabled: boolean) =>
      Effect.gen(function*() {
        yield* authorize(yield* configService.get, "http", "admin")
        return json(yield* executor.setEnabled(yield* toolName, enabled))
      })

    const setCircuit = (state: "open" | "closed") =>
      Effect.gen(function*() {
        yield* authorize(yield* configService.get, "http", "admin")
        return json(yield* executor.setCircuit(yield* toolName, state))
      })

    const mcpRoute = Effect.gen(function*() {
      const config = yield* configService.get
      const request = yield* HttpServerRequest.HttpServerRequest
      const caller = yield* authorize(config, "mcp-http")
      const body = request.method === "POST" ? yield* readJsonBody(request, config.server.max_body_bytes) : undefined
      return yield* mcp.handle(request, caller, body, {
        maxSessions: config.server.max_connections,
        maxPerClient: config.server.mcp_sessions_per_client,
        idleTimeoutMs: config.server.mcp_session_idle_timeout * 1000
      })
    })

    const router = HttpRouter.empty.pipe(
      HttpRouter.get(
        "/",
        Effect.gen(function*() {
          const tools = yield* executor.list
          return json({
            name: info.name,
            version: info.version,
            transport: "http",
            endpoints: ENDPOINTS,
            mcp_endpoint: "/mcp",
            tools: tools.length,
            tools_enabled: tools.filter((tool) => tool.enabled).length
          })
        })
      ),
      HttpRouter.get("/health", Effect.map(health.report, (report) => json(report, statusCode(report.status)))),
      HttpRouter.get(
        "/tools",
        Effect.gen(function*() {
          yield* authorize(yield* configService.get, "http")
          return json(yield* executor.list)
        })
      ),
      HttpRouter.post(
        "/tools/:name/execute",
        Effect.gen(function*() {
          const config = yield* configService.get
          const caller = yield* authorize(config, "http", "execute")
          const request = yield* HttpServerRequest.HttpServerRequest
          const body = yield* readJsonBody(request, config.server.max_body_bytes)
          return json(yield* executor.execute(yield* toolName, body, caller))
        })
      ),
      HttpRouter.post("/tools/:name/enable", setEnabled(true)),
      HttpRouter.post("/tools/:name/disable", setEnabled(false)),
      HttpRouter.post("/tools/:name/circuit/open", setCircuit("open")),
      HttpRouter.post("/tools/:name/circuit/close", setCircuit("closed")),
      HttpRouter.get(
        "/metrics",
        Effect.map(metrics.scrape, (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      ),
      HttpRouter.get(
        "/events",
        Effect.gen(function*() {
          yield* authorize(yield* configService.get, "http", "admin")
          return HttpServerResponse.stream(eventStream.pipe(Stream.provideService(Events, events)), {
            contentType: "text/event-stream",
            headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
          })
        })
      ),
      HttpRouter.get(
        "/config",
        Effect.gen(function*() {
          const config = yield* configService.get
          yield* authorize(config, "http", "admin")
          return json(redactConfig(config))
        })
      ),
      HttpRouter.get("/openapi.json", Effect.succeed(json(openApiDocument(info)))),
      HttpRouter.post("/mcp", mcpRoute),
      HttpRouter.get("/mcp", mcpRoute),
      HttpRouter.del("/mcp", mcpRoute)
    )

    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const config = yield* configService.get
      yield* rejectSecretsInQuery(searchParams(request))
      if (!HOST_CHECK_EXEMPT.has(pathOf(request))) {
        yield* checkHostOrigin(config, port, request.headers)
      }
      return yield* router
    }).pipe(
      Effect.catchTag("RouteNotFound", () => Effect.succeed(json({ detail: { _tag: "NotFound", message: "No such endpoint" } }, 404))),
      Effect.catchAll((error) => Effect.succeed(fail(error))),
      Effect.catchAllDefect((defect) =>
        Effect.logError("HTTP handler failed", defect).pipe(
          Effect.as(json({ detail: { _tag: "InternalError", message: "Internal server error" } }, 500))
        )
      )
    )
  })
