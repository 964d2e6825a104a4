import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Approval as ApprovalSchema, ApprovalKind, ApprovalStatus } from "../../Approval.js"
import { apiErrors } from "./errors.js"
import { Authenticated, RequireScope } from "./security.js"

const Approval = ApprovalSchema.annotations({
  identifier: "Approval",
  description: "One call waiting for (or past) a second person's approval, exactly as it would run"
})

const ApprovalPath = Schema.Struct({ id: Schema.String.annotations({ description: "The approval_id" }) })

/** What an approver sends: the reason, kept in the approval and the audit log. */
export const DecisionBody = Schema.Struct({
  reason: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000)).annotations({
    description: "Why the call is approved or denied; recorded in the approval and the audit log"
  })
}).annotations({ identifier: "ApprovalDecision" })

/** A decision on one approval, with its reason; who may make it is the route's middleware. */
const decision = <const Name extends "approve" | "deny" | "revoke">(name: Name, summary: string) =>
  HttpApiEndpoint.post(name, `/approvals/:id/${name}`)
    .setPath(ApprovalPath)
    .setPayload(DecisionBody)
    .addSuccess(Approval)
    .addError(
      apiErrors(
        "ApprovalNotFound",
        "ApprovalConflict",
        "ApprovalsUnavailable",
        "AuditUnavailable",
        "PayloadTooLarge",
        "UnsupportedMediaType"
      )
    )
    .annotate(OpenApi.Summary, summary)

/**
 * Approvals: requesters follow their own, approvers (the approve scope, in
 * the approval's engagement) decide other keys' pending ones, admins see all.
 */
export const Approvals = HttpApiGroup.make("approvals")
  .add(
    HttpApiEndpoint.get("list", "/approvals")
      .setUrlParams(Schema.Struct({ status: Schema.optional(ApprovalStatus), kind: Schema.optional(ApprovalKind) }))
      .addSuccess(Schema.Array(Approval).annotations({ description: "Newest first: the approvals this key may see" }))
      .addError(apiErrors("ApprovalsUnavailable"))
      .middleware(Authenticated)
      .annotate(
        OpenApi.Summary,
        "Approvals this key may see, optionally with one status (pending, approved, denied, used, expired, revoked) and kind (call, standing)"
      )
  )
  .add(
    HttpApiEndpoint.get("get", "/approvals/:id")
      .setPath(ApprovalPath)
      .addSuccess(Approval)
      .addError(apiErrors("ApprovalNotFound", "ApprovalsUnavailable"))
      .middleware(Authenticated)
      .annotate(OpenApi.Summary, "One approval: what exactly would run, who asked, and its state")
  )
  .add(
    decision(
      "approve",
      "Approve a pending call or a schedule's standing request (approve scope; never the requesting key)"
    ).middleware(RequireScope.approve)
  )
  .add(
    decision("deny", "Deny a pending call or standing request (approve scope; never the requesting key)").middleware(
      RequireScope.approve
    )
  )
  .add(
    decision(
      "revoke",
      "Revoke an approved standing approval: a run in progress under it is stopped and later runs are skipped (an approver, an admin or the schedule's owner)"
    ).middleware(Authenticated)
  )
  .addError(apiErrors("Forbidden"))
  .annotate(
    OpenApi.Description,
    "Approvals of calls that need a second person (engagements with approval: intrusive or all): kind call covers one call, kind standing every run of one schedule"
  )
