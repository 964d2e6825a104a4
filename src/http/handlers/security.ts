import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import type { CallerScope } from "../../identity/Caller.js"
import { Authenticated, RequireAdmin, RequireApprove, RequireExecute, RequireIntrusive, RequireSchedule } from "../api/security.js"
import { authenticate, requireScope } from "../auth.js"
import { searchParamsOf } from "../url.js"

/** The authenticated caller of the current request. */
const authenticated = (config: ConfigService["Type"]) => () =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    return yield* authenticate(yield* config.get, {
      headers: request.headers,
      searchParams: searchParamsOf(request.url),
      remoteAddress: Option.getOrUndefined(request.remoteAddress)
    }, "http")
  })

/** The authenticated caller of the current request, if it has `scope`. */
export const authorize = (config: ConfigService["Type"], scope: CallerScope) => () =>
  Effect.flatMap(authenticated(config)(), (caller) => requireScope(caller, scope))

/** The security middlewares of `api/security.ts`; the bearer token they are handed is re-read with the rest of the request. */
export const SecurityLive = Layer.unwrapEffect(
  Effect.map(ConfigService, (config) =>
    Layer.mergeAll(
      Layer.succeed(Authenticated, { bearer: authenticated(config) }),
      Layer.succeed(RequireExecute, { bearer: authorize(config, "execute") }),
      Layer.succeed(RequireIntrusive, { bearer: authorize(config, "intrusive") }),
      Layer.succeed(RequireAdmin, { bearer: authorize(config, "admin") }),
      Layer.succeed(RequireApprove, { bearer: authorize(config, "approve") }),
      Layer.succeed(RequireSchedule, { bearer: authorize(config, "schedule") })
    ))
)
