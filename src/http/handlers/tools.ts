import { HttpApiBuilder, type HttpServerRequest, type HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import type { ExecutionError } from "../../errors.js"
import { MalformedBody } from "../../execution/input.js"
import { ToolExecutor } from "../../execution/ToolExecutor.js"
import type { Caller } from "../../identity/Caller.js"
import { apiOf } from "../api/group.js"
import { CurrentCaller } from "../api/security.js"
import { Tools } from "../api/Tools.js"
import { readJsonBody } from "../body.js"
import type { PayloadTooLarge, UnsupportedMediaType } from "../errors.js"
import { json, resultJson } from "./json.js"

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
    name: string,
    caller: Caller
  ): Effect.Effect<HttpServerResponse.HttpServerResponse, ExecutionError | PayloadTooLarge | UnsupportedMediaType> =>
    config.get.pipe(
      Effect.flatMap((c) => readJsonBody(request, c.server.max_body_bytes)),
      Effect.catchTag("InvalidInput", (error) => Effect.succeed(new MalformedBody(error))),
      Effect.flatMap((body) => executor.execute(name, body, caller)),
      Effect.map(resultJson)
    )
})

export const ToolsLive = HttpApiBuilder.group(apiOf(Tools), "tools", (handlers) =>
  Effect.gen(function*() {
    const executor = yield* ToolExecutor
    const execute = yield* makeExecute
    const switched = <E>(change: (by: string) => Effect.Effect<unknown, E>) =>
      Effect.flatMap(CurrentCaller, (caller) => Effect.map(change(caller.id), (tool) => json(tool)))
    return handlers
      .handle("list", () => Effect.map(executor.list, (tools) => json(tools)))
      // Raw: the executor reads the body itself (see makeExecute).
      .handleRaw("execute", ({ path, request }) => Effect.flatMap(CurrentCaller, (caller) => execute(request, path.name, caller)))
      // The operator's key id is kept with the switch, which outlives a restart.
      .handle("enable", ({ path }) => switched((by) => executor.setEnabled(path.name, true, by)))
      .handle("disable", ({ path }) => switched((by) => executor.setEnabled(path.name, false, by)))
      .handle("openCircuit", ({ path }) => switched((by) => executor.setCircuit(path.name, "open", by)))
      .handle("closeCircuit", ({ path }) => switched((by) => executor.setCircuit(path.name, "closed", by)))
  }))
