import { Clock, Effect, Either, Option } from "effect"
import type { Approval } from "../Approval.js"
import { statusAt } from "../approvalStatus.js"
import type { AppConfig } from "../config/schema.js"
import type { StandingRef } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { standingDigest, type StandingSubject } from "../policy/approval.js"
import { engagementRef } from "../policy/Engagement.js"
import { endOf } from "../policy/engagementWindows.js"
import type { Approvals } from "../storage/Approvals.js"
import type { StoredSchedule } from "../storage/ScheduleStore.js"
import type { ToolRegistry } from "../tools/ToolRegistry.js"
import { ownerCaller } from "./owner.js"
import { type ApprovalNeed, approvalNeed } from "./run.js"

/**
 * A scheduled run that needs approval runs under its schedule's standing
 * approval: one request, approved once by a second person, covering every
 * run of exactly this schedule in exactly this scope until it expires or is
 * revoked. Without one the run is skipped with the reason, and the
 * schedule asks: at its first run, once it expired, and whenever the
 * schedule or its engagement's scope changed. A denial or revocation
 * stands until the owner changes the schedule or disables and enables it.
 */

export type StandingVerdict =
  | { readonly _tag: "run"; readonly ref: StandingRef }
  | { readonly _tag: "skip"; readonly reason: string }

const skip = (reason: string): StandingVerdict => ({ _tag: "skip", reason })

export const standingSubjectOf = (schedule: StoredSchedule, need: ApprovalNeed): StandingSubject => ({
  scheduleId: schedule.id,
  tool: schedule.spec.tool,
  target: schedule.spec.target,
  args: schedule.spec.args,
  template: schedule.spec.template,
  command: need.command,
  maxRuntime: schedule.spec.max_runtime,
  timeoutSeconds: need.timeoutSeconds,
  cron: schedule.spec.cron,
  interval: schedule.spec.interval,
  engagement: engagementRef(need.engagement),
  requestedBy: schedule.owner
})

const howToApprove = (id: string) => `an approver (another key with the approve scope) approves it with POST /approvals/${id}/approve`

/** Why the schedule's latest standing approval no longer matches what its runs execute. */
const changed = (latest: Approval, subject: StandingSubject) =>
  latest.engagement !== subject.engagement.name || latest.engagement_hash !== subject.engagement.hash
    ? `the scope of engagement ${subject.engagement.name} changed (hash ${
      subject.engagement.hash.slice(0, 12)
    }) since standing approval ${latest.approval_id}`
    : `the schedule, or how its tool is configured (binary, fixed arguments, template, timeout), changed since standing approval ${latest.approval_id}`

/** The verdict of a standing approval for exactly these runs, unexpired and approved (they run under it) or pending. */
const standingOf = (approval: Approval, scheduleId: string, digest: string): StandingVerdict => {
  const id = approval.approval_id
  return approval.status === "approved"
    ? { _tag: "run", ref: { approvalId: id, scheduleId, digest } }
    : skip(`skipped: standing approval ${id} is pending until ${approval.expires_at}; ${howToApprove(id)}`)
}

/** Reads the schedule's latest standing approval and says whether this run may go; requests a new one when it must. */
export const standingVerdict = (
  approvals: Approvals["Type"],
  schedule: StoredSchedule,
  need: ApprovalNeed,
  owner: Caller
) =>
  Effect.gen(function*() {
    const subject = standingSubjectOf(schedule, need)
    const digest = standingDigest(subject)
    const now = yield* Clock.currentTimeMillis
    const ends = need.engagement.until === undefined ? undefined : endOf(need.engagement.until)
    const ask = (why: string) =>
      ends !== undefined && ends <= now
        ? Effect.succeed(skip(`skipped: ${why}, and engagement ${need.engagement.name} has ended, so no approval is asked for`))
        : Effect.map(
          approvals.requestStanding({
            subject,
            requester: owner,
            argv: need.argv,
            intrusive: need.intrusive,
            intrusiveReasons: need.intrusiveReasons,
            engagementEndsMs: ends
          }),
          ({ approval, stored }) =>
            stored
              ? skip(`skipped: ${why}; standing approval ${approval.approval_id} requested: ${howToApprove(approval.approval_id)}`)
              // Another instance asked first, for the same runs: its request is the answer.
              : standingOf(approval, schedule.id, digest)
        )
    const found = yield* approvals.standingFor(schedule.id)
    if (Option.isNone(found)) {
      return yield* ask(`engagement ${need.engagement.name} requires a second person's approval for these runs`)
    }
    const latest = found.value
    const id = latest.approval_id
    if (latest.digest !== digest) return yield* ask(changed(latest, subject))
    const status = statusAt(latest, now)
    const endedAt = status === "denied" ? latest.decided_at : status === "revoked" ? latest.revoked_at : null
    // Disabled and enabled again since the denial or revocation: the owner asks anew.
    if (endedAt !== null && Date.parse(endedAt) < schedule.updatedMs) {
      return yield* ask(`standing approval ${id} was ${status}, and the schedule was enabled again since`)
    }
    switch (status) {
      case "approved":
      case "pending":
        return standingOf(latest, schedule.id, digest)
      case "denied":
        return skip(
          `skipped: standing approval ${id} was denied by ${latest.decided_by}: ${latest.reason ?? "no reason given"}; ` +
            "change the schedule, or disable and enable it, to ask again"
        )
      case "revoked":
        return skip(
          `skipped: standing approval ${id} was revoked by ${latest.revoked_by}; change the schedule, or disable and enable it, to ask again`
        )
      case "expired":
      case "used":
        return yield* ask(`standing approval ${id} expired at ${latest.expires_at}`)
    }
  })

/**
 * Asks for the schedule's standing approval now, when its runs will need
 * one and it has none that still fits (at creation, and when it is enabled
 * again), so approvers see the request before the first run is due. The
 * run asks itself when this could not.
 */
export const askAhead = (
  approvals: Approvals["Type"],
  registry: ToolRegistry["Type"],
  schedule: StoredSchedule,
  config: AppConfig
) =>
  Effect.gen(function*() {
    const owner = ownerCaller(schedule.owner, schedule.source, config)
    if (Either.isLeft(owner)) return
    const tool = yield* Effect.option(registry.get(schedule.spec.tool))
    const need = approvalNeed(schedule.spec, Option.getOrUndefined(tool)?.spec, owner.right, config)
    if (need !== undefined) yield* standingVerdict(approvals, schedule, need, owner.right)
  }).pipe(
    Effect.catchAll((error) =>
      Effect.logWarning(`watch: the standing approval of ${schedule.id} is asked for at its first run instead (${error.message})`)
    )
  )
