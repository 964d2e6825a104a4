import { HttpApiBuilder, type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import type { ExecutionError } from "../../errors.js"
import { MalformedBody } from "../../execution/input.js"
import { ToolExecutor } from "../../execution/ToolExecutor.js"
import { apiOf } from "../api/group.js"
import { CurrentCaller } from "../api/security.js"
import { Tools } from "../api/Tools.js"
import { readJsonBody } from "../body.js"
import type { PayloadTooLarge, UnsupportedMediaType } from "../errors.js"
import { json } from "./json.js"

/**
 * `POST /tools/{name}/execute` once its caller is known: the body goes to the
 * executor as parsed JSON, or as a MalformedBody when it is not JSON, so
 * malformed input meets the client's rate limit and is audited there before
 * it is refused. The route's handler and the fast lane (fastLane.ts) both answer with this.
 */
export const makeExecute = Effect.gen(function*() {
  const executor = yield* ToolExecutor
  const config = yield* ConfigService
  return (
    request: HttpServerRequest.HttpServerRequest,
    name: string
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, ExecutionError | PayloadTooLarge | UnsupportedMediaType, CurrentCaller> =>
    Effect.gen(function*() {
      const caller = yield* CurrentCaller
      const body = yield* readJsonBody(request, (yield* config.get).server.max_body_bytes).pipe(
        Effect.catchTag("InvalidInput", (error) => Effect.succeed(new MalformedBody(error)))
      )
      return json(yield* executor.execute(name, body, caller))
    })
})

export const ToolsLive = HttpApiBuilder.group(apiOf(Tools), "tools", (handlers) =>
  Effect.gen(function*() {
    const executor = yield* ToolExecutor
    const execute = yield* makeExecute
    return handlers
      .handle("list", () => Effect.map(executor.list, (tools) => json(tools)))
      // Raw: the executor reads the body itself (see makeExecute).
      .handleRaw("execute", ({ path, request }) => execute(request, path.name))
      .handle("enable", ({ path }) => Effect.map(executor.setEnabled(path.name, true), (tool) => json(tool)))
      .handle("disable", ({ path }) => Effect.map(executor.setEnabled(path.name, false), (tool) => json(tool)))
      .handle("openCircuit", ({ path }) => Effect.map(executor.setCircuit(path.name, "open"), (tool) => json(tool)))
      .handle("closeCircuit", ({ path }) => Effect.map(executor.setCircuit(path.name, "closed"), (tool) => json(tool)))
  }))
