import { HttpApi, HttpApiBuilder, HttpServer, OpenApi } from "@effect/platform"
import { Effect, Layer } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { ServerInfo } from "../mcp/McpServer.js"
import { Admin } from "./api/Admin.js"
import { Approvals } from "./api/Approvals.js"
import { Audit } from "./api/Audit.js"
import { Console } from "./api/Console.js"
import { Engagements } from "./api/Engagements.js"
import { AnyApiError, apiErrors } from "./api/errors.js"
import { API_ID } from "./api/group.js"
import { Mcp } from "./api/Mcp.js"
import { Probes } from "./api/Probes.js"
import { Reports } from "./api/Reports.js"
import { Scans } from "./api/Scans.js"
import { Schedules } from "./api/Schedules.js"
import { Server } from "./api/Server.js"
import { Tools } from "./api/Tools.js"
import { Webhooks } from "./api/Webhooks.js"
import { guard } from "./guard.js"
import { AdminLive } from "./handlers/admin.js"
import { ApprovalsLive } from "./handlers/approvals.js"
import { AuditLive } from "./handlers/audit.js"
import { ConsoleLive } from "./handlers/console.js"
import { EngagementsLive } from "./handlers/engagements.js"
import { McpLive } from "./handlers/mcp.js"
import { ProbesLive } from "./handlers/probes.js"
import { ReportsLive } from "./handlers/reports.js"
import { ScansLive } from "./handlers/scans.js"
import { SchedulesLive } from "./handlers/schedules.js"
import { SecurityLive } from "./handlers/security.js"
import { ServerLive } from "./handlers/server.js"
import { ToolsLive } from "./handlers/tools.js"
import { WebhooksLive } from "./handlers/webhooks.js"

/**
 * The HTTP API, declared once: routing, the OpenAPI document at
 * /openapi.json and the endpoint list of / all come from `Api`.
 *
 * Adding a group (say `/scans`) takes one definition file, one handler file
 * and two lines here:
 *  1. `src/http/api/Scans.ts`: `HttpApiGroup.make("scans").add(HttpApiEndpoint.get("list", "/scans")…)`,
 *     with `.addError(apiErrors(…))` for every typed error a handler may fail
 *     with (statuses come from `errorStatus`), `.middleware(Authenticated)` or
 *     `.middleware(RequireScope.execute)` for who may call, and
 *     `.addError(apiErrors("Forbidden"))` for the Host/Origin check;
 *  2. `src/http/handlers/scans.ts`: `HttpApiBuilder.group(apiOf(Scans), "scans", (handlers) => …)`;
 *  3. here: `.add(Scans)` on `Api` and `ScansLive` in `handlers`.
 * test/http/openapi.test.ts then checks the new routes against the document.
 */
export const Api = HttpApi.make(API_ID)
  .add(Probes)
  .add(Server)
  .add(Tools)
  .add(Admin)
  .add(Engagements)
  .add(Approvals)
  .add(Scans)
  .add(Reports)
  .add(Schedules)
  .add(Audit)
  .add(Webhooks)
  .add(Mcp)
  .add(Console)
  // Any route: a key in the query string, a connection over server.max_connections, a bug.
  .addError(apiErrors("InvalidInput", "TooManyConnections", "InternalError"))
  .annotate(OpenApi.Description, "Run network security tools under a target/argument policy. MCP clients use /mcp.")
  .annotate(HttpApi.AdditionalSchemas, [AnyApiError])

const handlers = (info: ServerInfo) =>
  Layer.mergeAll(
    ProbesLive,
    ServerLive(Api, info),
    ToolsLive,
    AdminLive,
    EngagementsLive,
    ApprovalsLive,
    ScansLive,
    ReportsLive,
    SchedulesLive,
    AuditLive,
    WebhooksLive,
    McpLive(info),
    ConsoleLive
  )

/** The probes are the routes without the Host/Origin check. */
export const HOST_CHECK_EXEMPT: ReadonlySet<string> = new Set(Object.values(Probes.endpoints).map((endpoint) => endpoint.path))

/** Checks before routing and the typed error body for every failure, inside HttpApi's own error encoding. */
const GuardLive = HttpApiBuilder.middleware(
  Effect.gen(function*() {
    const config = yield* ConfigService
    const { address } = yield* HttpServer.HttpServer
    return guard({ config: config.get, port: address._tag === "TcpAddress" ? address.port : 0, exempt: HOST_CHECK_EXEMPT })
  })
)

/** `Api` with its handlers, ready for `HttpApiBuilder.serve`. */
export const ApiLive = (info: ServerInfo) =>
  Layer.mergeAll(HttpApiBuilder.api(Api).pipe(Layer.provide(handlers(info)), Layer.provide(SecurityLive)), GuardLive)
