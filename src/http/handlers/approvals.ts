import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, ParseResult, Schema } from "effect"
import { ConfigService } from "../../config/ConfigService.js"
import { InvalidInput } from "../../errors.js"
import { Approvals as ApprovalStore, type Decision } from "../../storage/Approvals.js"
import { Approvals, DecisionBody } from "../api/Approvals.js"
import { apiOf } from "../api/group.js"
import { CurrentCaller } from "../api/security.js"
import { readJsonBody } from "../body.js"
import { json } from "./json.js"

const decodeDecision = Schema.decodeUnknownEither(DecisionBody, { onExcessProperty: "error", errors: "all" })

/** The decision body, read under the body limit like every other; its issues name the field. */
const decisionBody = (raw: unknown) =>
  Either.mapLeft(decodeDecision(raw), (error) => {
    const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
    return new InvalidInput({
      message: `invalid decision: send {"reason": "why"} (1 to 1000 characters): ${issues.join("; ")}`,
      issues
    })
  })

export const ApprovalsLive = HttpApiBuilder.group(apiOf(Approvals), "approvals", (handlers) =>
  Effect.gen(function*() {
    const approvals = yield* ApprovalStore
    const config = yield* ConfigService
    // Raw, so the body is read under server.max_body_bytes with the JSON media type checked, as for execute.
    const decide = (decision: Decision) => ({ path, request }: { readonly path: { readonly id: string }; readonly request: any }) =>
      Effect.gen(function*() {
        const caller = yield* CurrentCaller
        const raw = yield* readJsonBody(request, (yield* config.get).server.max_body_bytes)
        const { reason } = yield* decisionBody(raw)
        return json(yield* approvals.decide(path.id, decision, caller, reason))
      })
    return handlers
      .handle("list", ({ urlParams }) =>
        Effect.flatMap(CurrentCaller, (caller) => Effect.map(approvals.list(caller, urlParams.status), (all) => json(all))))
      .handle("get", ({ path }) =>
        Effect.flatMap(CurrentCaller, (caller) => Effect.map(approvals.get(path.id, caller), (a) => json(a))))
      .handleRaw("approve", decide("approved"))
      .handleRaw("deny", decide("denied"))
  }))
