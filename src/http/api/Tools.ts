import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ExecutionResult, ToolInfo, ToolInput } from "../../execution/ToolExecutor.js"
import { apiErrors, EXECUTION_ERRORS } from "./errors.js"
import { Authenticated, RequireScope } from "./security.js"

const Info = ToolInfo.annotations({ identifier: "ToolInfo", description: "The tool: flags, templates, state and statistics" })

const ToolPath = Schema.Struct({ name: Schema.String.annotations({ description: "Tool name, e.g. NmapTool" }) })

/** An operator switch on one tool: admin scope, the tool's description back. */
const adminAction = <const Name extends string>(name: Name, path: `/tools/:name/${string}`, summary: string) =>
  HttpApiEndpoint.post(name, path)
    .setPath(ToolPath)
    .addSuccess(Info)
    .addError(apiErrors("ToolNotFound"))
    .middleware(RequireScope.admin)
    .annotate(OpenApi.Summary, `${summary} (admin scope)`)

/**
 * The execute body is documented as ToolInput but read by the handler itself
 * (handleRaw): malformed input must reach the executor, which audits it
 * before refusing it.
 */
const execute = HttpApiEndpoint.post("execute", "/tools/:name/execute")
  .setPath(ToolPath)
  .setPayload(ToolInput.annotations({ identifier: "ToolInput" }))
  .addSuccess(ExecutionResult.annotations({
    identifier: "ExecutionResult",
    description: "The process ran (check error / timed_out for its outcome)"
  }))
  .addError(apiErrors(...EXECUTION_ERRORS, "PayloadTooLarge", "UnsupportedMediaType"))
  .middleware(RequireScope.execute)
  .annotate(OpenApi.Summary, "Execute a tool (execute scope)")
  .annotate(
    OpenApi.Description,
    "Intrusive operations also need the intrusive scope and security.allow_intrusive. Every call, refused or not, is audited."
  )

export const Tools = HttpApiGroup.make("tools")
  .add(
    HttpApiEndpoint.get("list", "/tools")
      .addSuccess(Schema.Array(Info).annotations({ description: "Every registered tool" }))
      .middleware(Authenticated)
      .annotate(OpenApi.Summary, "List tools with their flags, templates, state and statistics")
  )
  .add(execute)
  .add(adminAction("enable", "/tools/:name/enable", "Enable a tool"))
  .add(adminAction("disable", "/tools/:name/disable", "Disable a tool"))
  .add(adminAction("openCircuit", "/tools/:name/circuit/open", "Hold a tool's circuit breaker open until closed again"))
  .add(adminAction("closeCircuit", "/tools/:name/circuit/close", "Close a tool's circuit breaker and forget its failures"))
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Tools: list, execute, and operator switches")
