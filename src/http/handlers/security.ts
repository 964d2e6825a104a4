import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Option } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import type { Forbidden, Unauthorized } from "../../errors.js"
import type { Caller, CallerScope } from "../../identity/Caller.js"
import { AuditLog } from "../../observability/AuditLog.js"
import { NO_VALID_KEY } from "../../observability/rejections.js"
import { Authenticated, RequireAdmin, RequireApprove, RequireExecute, RequireIntrusive, RequireSchedule } from "../api/security.js"
import { authenticate, requireScope } from "../auth.js"
import { searchParamsOf } from "../url.js"

interface Parts {
  readonly config: ConfigService["Type"]
  readonly audit: AuditLog["Type"]
}

/**
 * A request turned away for its key or scope, counted in the audit log's
 * `rejections` line of its client (one line per interval, however many):
 * someone trying keys, or a key trying routes it may not use, is on record
 * without a flood of them costing a line each.
 */
const counted = (audit: AuditLog["Type"], caller: Pick<Caller, "id" | "address">, error: Unauthorized | Forbidden) =>
  audit.overLimit({ caller: { id: caller.id, transport: "http", address: caller.address }, tool: "unknown", reason: error._tag })

/** The authenticated caller of the current request. */
const authenticated = ({ audit, config }: Parts) => () =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const address = Option.getOrUndefined(request.remoteAddress)
    return yield* authenticate(yield* config.get, {
      headers: request.headers,
      searchParams: searchParamsOf(request.url),
      remoteAddress: address
    }, "http")
      .pipe(Effect.tapError((error) => error._tag === "Unauthorized" ? counted(audit, { id: NO_VALID_KEY, address }, error) : Effect.void))
  })

/** The authenticated caller of the current request, if it has `scope`. */
export const authorize = (parts: Parts, scope: CallerScope) => () =>
  Effect.flatMap(
    authenticated(parts)(),
    (caller) => requireScope(caller, scope).pipe(Effect.tapError((error) => counted(parts.audit, caller, error)))
  )

/** The security middlewares of `api/security.ts`; the bearer token they are handed is re-read with the rest of the request. */
export const SecurityLive = Layer.unwrapEffect(
  Effect.map(Effect.all({ config: ConfigService, audit: AuditLog }), (parts) =>
    Layer.mergeAll(
      Layer.succeed(Authenticated, { bearer: authenticated(parts) }),
      Layer.succeed(RequireExecute, { bearer: authorize(parts, "execute") }),
      Layer.succeed(RequireIntrusive, { bearer: authorize(parts, "intrusive") }),
      Layer.succeed(RequireAdmin, { bearer: authorize(parts, "admin") }),
      Layer.succeed(RequireApprove, { bearer: authorize(parts, "approve") }),
      Layer.succeed(RequireSchedule, { bearer: authorize(parts, "schedule") })
    ))
)
