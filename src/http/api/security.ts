import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context } from "effect"
import type { Caller, CallerScope } from "../../identity/Caller.js"
import { apiErrors } from "./errors.js"

/**
 * Who may call an endpoint: `.middleware(Authenticated)` for any valid key
 * (or the local operator), `.middleware(RequireScope.admin)` and the others
 * for a key with that scope. The middleware authenticates and provides the
 * caller to the handler as `CurrentCaller`.
 */

export class CurrentCaller extends Context.Tag("security-mcp/http/CurrentCaller")<CurrentCaller, Caller>() {}

export const bearer = HttpApiSecurity.bearer.pipe(
  HttpApiSecurity.annotate(OpenApi.Description, "API key (Authorization: Bearer <key>); never accepted in the query string")
)

// InvalidInput: a key in the query string (refused before routing already, and again here).
const authenticated = { provides: CurrentCaller, security: { bearer }, failure: apiErrors("Unauthorized", "InvalidInput") } as const
const scoped = { provides: CurrentCaller, security: { bearer }, failure: apiErrors("Unauthorized", "InvalidInput", "Forbidden") } as const

export class Authenticated extends HttpApiMiddleware.Tag<Authenticated>()("security-mcp/http/Authenticated", authenticated) {}
export class RequireExecute extends HttpApiMiddleware.Tag<RequireExecute>()("security-mcp/http/RequireExecute", scoped) {}
export class RequireIntrusive extends HttpApiMiddleware.Tag<RequireIntrusive>()("security-mcp/http/RequireIntrusive", scoped) {}
export class RequireAdmin extends HttpApiMiddleware.Tag<RequireAdmin>()("security-mcp/http/RequireAdmin", scoped) {}
export class RequireApprove extends HttpApiMiddleware.Tag<RequireApprove>()("security-mcp/http/RequireApprove", scoped) {}
export class RequireSchedule extends HttpApiMiddleware.Tag<RequireSchedule>()("security-mcp/http/RequireSchedule", scoped) {}

export const RequireScope = {
  execute: RequireExecute,
  intrusive: RequireIntrusive,
  admin: RequireAdmin,
  approve: RequireApprove,
  schedule: RequireSchedule
} as const satisfies { readonly [S in CallerScope]: unknown }
