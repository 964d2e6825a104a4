import { HttpApiBuilder } from "@effect/platform"
import { Cause, Clock, Effect, Exit, Option } from "effect"
import { randomUUID } from "node:crypto"
import { ConfigService } from "../../config/ConfigService.js"
import { auditLogNotConfigured, searchAudit } from "../../observability/auditFile.js"
import { AuditLog } from "../../observability/AuditLog.js"
import { describeQuery } from "../../observability/auditSearch.js"
import { Audit } from "../api/Audit.js"
import { apiOf } from "../api/group.js"
import { CurrentCaller } from "../api/security.js"
import { json } from "./json.js"

/** The tool name a search's own audit line carries: not a tool, so no tool's statistics or filters take it for one. */
const AUDIT_SEARCH = "audit.search"

export const AuditLive = HttpApiBuilder.group(apiOf(Audit), "audit", (handlers) =>
  Effect.gen(function*() {
    const config = yield* ConfigService
    const audit = yield* AuditLog
    return handlers.handle("search", ({ urlParams }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const path = (yield* config.get).security.audit_log_path
        if (path === "") return yield* auditLogNotConfigured
        const started = yield* Clock.currentTimeMillis
        const exit = yield* Effect.exit(searchAudit(path, urlParams))
        const failure = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
        // Written after the search, so the line says how it ended; a line that must be written and cannot fails the request.
        yield* audit.write({
          caller,
          tool: AUDIT_SEARCH,
          target: describeQuery(urlParams),
          resolvedTarget: null,
          argv: [],
          decision: failure?._tag === "InvalidInput" ? "rejected:InvalidInput" : "allowed",
          outcome: Exit.isSuccess(exit) ? "success" : failure?._tag === "InvalidInput" ? "rejected" : "failure",
          durationSeconds: ((yield* Clock.currentTimeMillis) - started) / 1000,
          intrusive: false,
          correlationId: randomUUID(),
          error: failure === undefined ? null : { tag: failure._tag, message: failure.message }
        })
        return json(yield* exit)
      }))
  }))
