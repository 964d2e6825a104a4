import { useState } from "preact/hooks"
import type { Approval } from "../../../Approval.js"
import { api } from "../api.js"
import { useLoad } from "../hooks.js"
import { ErrorBox, Show, when } from "./common.js"

const STATUSES = ["pending", "approved", "denied", "used", "expired", ""] as const

/** Approvals this key may see; pending ones another key requested can be approved or denied, with a reason. */
export function Approvals() {
  const [status, setStatus] = useState<string>("pending")
  const list = useLoad(() => api.approvals(status === "" ? undefined : status), [status])
  return (
    <>
      <h1 tabIndex={-1}>Approvals</h1>
      <div class="filter">
        <label for="approval-status">Status</label>
        <select id="approval-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          {STATUSES.map((s) => <option key={s} value={s}>{s === "" ? "any" : s}</option>)}
        </select>
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
  const [reason, setReason] = useState("")
  const [error, setError] = useState<Error | undefined>()
  const [busy, setBusy] = useState(false)
  const id = `reason-${approval.approval_id}`
  const decide = async (decision: "approve" | "deny") => {
    setBusy(true)
    setError(undefined)
    try {
      await api.decide(approval.approval_id, decision, reason.trim())
      onDecided()
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)))
    } finally {
      setBusy(false)
    }
  }
  return (
    <li class="approval" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>
        {approval.tool} {approval.target} <span class={`status status-${approval.status}`}>{approval.status}</span>
      </h2>
      <dl class="facts">
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
      </dl>
      {approval.status === "pending" ?
        (
          <form class="decision" onSubmit={(e) => (e.preventDefault(), void decide("approve"))}>
            <label for={id}>Reason</label>
            <input id={id} type="text" required maxLength={1000} value={reason} onInput={(e) => setReason(e.currentTarget.value)} />
            <button type="submit" disabled={busy || reason.trim() === ""}>Approve</button>
            <button type="button" class="danger" disabled={busy || reason.trim() === ""} onClick={() => void decide("deny")}>Deny</button>
          </form>
        ) :
        null}
      {error === undefined ? null : <ErrorBox error={error} />}
    </li>
  )
}
