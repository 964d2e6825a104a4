import type { AuditLine } from "../../../observability/AuditLog.js"
import { Head } from "../../components/Head.js"
import { api, type AuditFilters } from "../api.js"
import { usePaged } from "../hooks.js"
import { href } from "../route.js"
import { Choice, Field, filtersOf, formFilters, local, Pager, seconds, Show, when } from "./common.js"

const FIELDS = ["caller", "tool", "target", "decision", "outcome", "from", "to", "q", "limit"] as const

const PAGE_SIZES = ["", "10", "100", "500"]

const DECISIONS = ["", "allowed", "rejected", "approval"]

const OUTCOMES = ["", "success", "failure", "timeout", "rejected", "cancelled", "started", "interrupted", "pending", "approved", "denied"]

/** The audit log (admin): the server's filters kept in the fragment, newest first, paged by the server's cursor. */
export function Audit({ params }: { readonly params: URLSearchParams }) {
  const filters: AuditFilters = filtersOf(params, FIELDS)
  const { page, pages, setPages } = usePaged((at) => api.audit({ limit: "50", ...filters, ...at }), params.toString())
  const apply = (event: Event) => {
    event.preventDefault()
    location.hash = href.audit(formFilters(event.currentTarget as HTMLFormElement, FIELDS, ["from", "to"]))
  }
  return (
    <>
      <h1 tabIndex={-1}>Audit log</h1>
      <form key={params.toString()} class="filters" onSubmit={apply} aria-label="Audit filters">
        <Field name="caller" label="Key id" value={filters.caller} />
        <Field name="tool" label="Tool" value={filters.tool} />
        <Field name="target" label="Target contains" value={filters.target} />
        <Choice name="decision" label="Decision" options={DECISIONS} value={filters.decision} />
        <Choice name="outcome" label="Outcome" options={OUTCOMES} value={filters.outcome} />
        <Field name="from" label="From" type="datetime-local" value={local(filters.from)} />
        <Field name="to" label="To" type="datetime-local" value={local(filters.to)} />
        <Field name="q" label="Text" value={filters.q} />
        <Choice name="limit" label="Per page" options={PAGE_SIZES} value={filters.limit} empty="50" />
        <button type="submit">Search</button>
      </form>
      <Show loaded={page}>
        {(p) => (
          <>
            <p class="muted" role="status">
              {p.lines.length} {p.lines.length === 1 ? "line" : "lines"} found in {p.scanned_lines} read
              {p.skipped_lines === 0 ? "" : `; ${p.skipped_lines} unreadable lines skipped`}
              {p.exhausted_budget ? "; stopped at the read limit: Older searches on" : ""}
            </p>
            <AuditTable lines={p.lines} />
            <Pager pages={pages} setPages={setPages} next={p.next_cursor} />
          </>
        )}
      </Show>
    </>
  )
}

function AuditTable({ lines }: { readonly lines: ReadonlyArray<AuditLine> }) {
  if (lines.length === 0) return <p>No matching audit lines.</p>
  return (
    <div class="scroll">
      <table class="audit">
        <caption>Audit lines, newest first</caption>
        <Head columns={["Time", "Key", "Tool", "Target", "Decision", "Outcome", "Time taken", "Detail"]} />
        <tbody>{lines.map((line, i) => <AuditRow key={`${line.timestamp}-${i}`} line={line} />)}</tbody>
      </table>
    </div>
  )
}

function AuditRow({ line }: { readonly line: AuditLine }) {
  if (line.kind === "rejections") {
    return (
      <tr class="audit-rejections">
        <td>
          <time dateTime={line.timestamp}>{when(line.timestamp)}</time>
        </td>
        <td>{line.caller_id}</td>
        <td>{Object.keys(line.by_tool).join(", ")}</td>
        <td>—</td>
        <td>{line.decision}</td>
        <td>{line.count} calls over the limit</td>
        <td>—</td>
        <td>{Object.entries(line.by_reason).map(([reason, count]) => `${reason}: ${count}`).join(", ")}</td>
      </tr>
    )
  }
  return (
    <tr class={`audit-${line.decision.split(":")[0]}`}>
      <td>
        <time dateTime={line.timestamp}>{when(line.timestamp)}</time>
      </td>
      <td>{line.caller_id}</td>
      <td>{line.tool}</td>
      <td>
        {line.target}
        {line.resolved_target === null || line.resolved_target === line.target ? null : ` → ${line.resolved_target}`}
      </td>
      <td>{line.decision}</td>
      <td>{line.outcome}</td>
      <td>{seconds(line.duration_seconds)}</td>
      <td>
        {line.argv.length === 0 ? null : <code>{line.argv.join(" ")}</code>}
        {line.error_message === null ? null : <span class="error-text">{line.error_message}</span>}
        {line.engagement === null ? null : <span class="muted">engagement {line.engagement}</span>}
      </td>
    </tr>
  )
}
