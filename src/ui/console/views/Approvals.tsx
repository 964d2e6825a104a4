import { useEffect, useRef, useState } from "preact/hooks"
import type { Approval } from "../../../Approval.js"
import { statusAt } from "../../../approvalStatus.js"
import { api } from "../api.js"
import { useAction, useLoad } from "../hooks.js"
import { href } from "../route.js"
import { revocable } from "../watchText.js"
import { ErrorBox, Show, when } from "./common.js"

const STATUSES = ["pending", "approved", "denied", "used", "expired", "revoked", ""] as const
const KINDS = [["", "any"], ["call", "one call"], ["standing", "standing (a schedule's runs)"]] as const

/**
 * Approvals this key may see: pending ones another key requested can be
 * approved or denied, with a reason; an approved standing approval (every
 * run of one schedule) can be revoked, with a reason. With an id, that one
 * approval alone, at an address that can be handed to an approver.
 */
export function Approvals({ id }: { readonly id: string | undefined }) {
  return id === undefined ? <AllApprovals /> : <OneApproval id={id} />
}

function OneApproval({ id }: { readonly id: string }) {
  const one = useLoad(() => api.approval(id), [id])
  return (
    <>
      <h1 tabIndex={-1}>Approval {id}</h1>
      <p>
        <a href={href.approvals}>All approvals</a>
      </p>
      <Show loaded={one}>
        {(approval) => (
          <ul class="approvals">
            <ApprovalCard approval={approval} onDecided={one.reload} />
          </ul>
        )}
      </Show>
    </>
  )
}

function AllApprovals() {
  const [status, setStatus] = useState<string>("pending")
  const [kind, setKind] = useState<"" | "call" | "standing">("")
  const list = useLoad(
    () => api.approvals({ ...(status === "" ? {} : { status }), ...(kind === "" ? {} : { kind }) }),
    [status, kind]
  )
  return (
    <>
      <h1 tabIndex={-1}>Approvals</h1>
      <div class="filters">
        <div class="field">
          <label for="approval-status">Status</label>
          <select id="approval-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            {STATUSES.map((s) => <option key={s} value={s}>{s === "" ? "any" : s}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="approval-kind">Kind</label>
          <select id="approval-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value as typeof kind)}>
            {KINDS.map(([value, label]) => <option key={value} value={value}>{label}</option>)}
          </select>
        </div>
      </div>
      <Show loaded={list}>
        {(approvals) =>
          approvals.length === 0
            ? <p>No {status} approvals.</p>
            : (
              <ul class="approvals">
                {approvals.map((a) => <ApprovalCard key={a.approval_id} approval={a} onDecided={list.reload} />)}
              </ul>
            )}
      </Show>
    </>
  )
}

function ApprovalCard({ approval, onDecided }: { readonly approval: Approval; readonly onDecided: () => void }) {
  const id = `reason-${approval.approval_id}`
  const status = statusAt(approval, Date.now())
  return (
    <li class="approval" aria-labelledby={`${id}-title`} data-approval-id={approval.approval_id}>
      <h2 id={`${id}-title`}>
        <a href={href.approval(approval.approval_id)}>{approval.tool} {approval.target}</a>{" "}
        <span class={`status kind-${approval.kind}`}>{approval.kind}</span> <span class={`status status-${status}`}>{status}</span>
      </h2>
      <ApprovalFacts approval={approval} />
      {status === "pending" ? <DecisionForm approval={approval} id={id} onDecided={onDecided} /> : null}
      {revocable(approval, Date.now()) ? <RevokeForm approval={approval} id={id} onDecided={onDecided} /> : null}
    </li>
  )
}

function ApprovalFacts({ approval }: { readonly approval: Approval }) {
  return (
    <dl class="facts">
      {approval.kind === "standing" && approval.schedule_id !== null
        ? (
          <>
            <dt>Covers</dt>
            <dd>
              every run of <a href={href.schedule(approval.schedule_id)}>schedule {approval.schedule_id}</a>
            </dd>
          </>
        )
        : null}
      <dt>Command</dt>
      <dd>
        <code>{approval.argv.join(" ")}</code>
      </dd>
      <dt>Pinned target</dt>
      <dd>{approval.resolved_target}</dd>
      <dt>Engagement</dt>
      <dd>{approval.engagement}</dd>
      <dt>Requested</dt>
      <dd>{approval.requested_by}, {when(approval.requested_at)}</dd>
      <dt>Expires</dt>
      <dd>{when(approval.expires_at)}</dd>
      {approval.intrusive_reasons.length > 0 ?
        (
          <>
            <dt>Intrusive because</dt>
            <dd>{approval.intrusive_reasons.join(", ")}</dd>
          </>
        ) :
        null}
      {approval.decided_by === null ? null : (
        <>
          <dt>Decided</dt>
          <dd>{approval.decided_by}, {when(approval.decided_at)}: {approval.reason}</dd>
        </>
      )}
      {approval.kind === "standing" && approval.used_at !== null
        ? (
          <>
            <dt>Latest run</dt>
            <dd>{when(approval.used_at)}</dd>
          </>
        )
        : null}
      {approval.revoked_by === null ? null : (
        <>
          <dt>Revoked</dt>
          <dd>{approval.revoked_by}, {when(approval.revoked_at)}</dd>
        </>
      )}
    </dl>
  )
}

interface FormProps {
  readonly approval: Approval
  readonly id: string
  readonly onDecided: () => void
}

function DecisionForm({ approval, id, onDecided }: FormProps) {
  const [reason, setReason] = useState("")
  const action = useAction(onDecided)
  const decide = (decision: "approve" | "deny") => action.run(() => api.decide(approval.approval_id, decision, reason.trim()))
  const blocked = action.busy || reason.trim() === ""
  return (
    <>
      <form class="decision" onSubmit={(e) => (e.preventDefault(), void decide("approve"))}>
        <label for={id}>Reason</label>
        <input id={id} type="text" required maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
        <button type="submit" disabled={blocked}>Approve</button>
        <button type="button" class="danger" disabled={blocked} onClick={() => void decide("deny")}>Deny</button>
      </form>
      {action.error === undefined ? null : <ErrorBox error={action.error} />}
    </>
  )
}

/** Revoke, then an inline confirmation that asks for the reason: the schedule's runs stop until a new approval. */
function RevokeForm({ approval, id, onDecided }: FormProps) {
  const [confirming, setConfirming] = useState(false)
  const [reason, setReason] = useState("")
  const action = useAction(onDecided)
  const revokeId = `revoke-${id}`
  const field = useRef<HTMLInputElement>(null)
  useEffect(() => {
    if (confirming) field.current?.focus()
  }, [confirming])
  if (!confirming) {
    return (
      <div class="decision">
        <button type="button" class="secondary" onClick={() => setConfirming(true)}>Revoke</button>
      </div>
    )
  }
  return (
    <>
      <form
        class="decision"
        onSubmit={(e) => (e.preventDefault(), void action.run(() => api.revoke(approval.approval_id, reason.trim())))}
      >
        <span>Revoke it? A run in progress under it is stopped, and the schedule's later runs are skipped.</span>
        <label for={revokeId}>Reason for revoking</label>
        <input
          id={revokeId}
          type="text"
          required
          maxLength={1000}
          value={reason}
          onInput={(e) => setReason(e.currentTarget.value)}
          ref={field}
        />
        <button type="submit" class="danger" disabled={action.busy || reason.trim() === ""}>Yes, revoke</button>
        <button type="button" class="secondary" onClick={() => setConfirming(false)}>Keep it</button>
      </form>
      {action.error === undefined ? null : <ErrorBox error={action.error} />}
    </>
  )
}
