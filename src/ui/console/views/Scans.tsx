import { useState } from "preact/hooks"
import type { ScanEntry } from "../../../storage/ScanRecord.js"
import { api, type ScanFilters } from "../api.js"
import { useLoad } from "../hooks.js"
import { href } from "../route.js"
import { ErrorBox } from "./common.js"
import { ScanTable } from "./ScanTable.js"

const OUTCOMES = ["", "running", "succeeded", "failed", "timed_out", "cancelled", "interrupted"]

const FIELDS = ["tool", "target", "outcome", "caller", "since", "until"] as const

const filtersOf = (params: URLSearchParams): ScanFilters =>
  Object.fromEntries(FIELDS.flatMap((field) => (params.get(field) ? [[field, params.get(field)!]] : [])))

/** The scan list: the server's filters (kept in the fragment, so a view can be bookmarked), a text search over the page, paging. */
export function Scans({ params }: { readonly params: URLSearchParams }) {
  const filters = filtersOf(params)
  const [pages, setPages] = useState<ReadonlyArray<string>>([])
  const [search, setSearch] = useState("")
  const cursor = pages[pages.length - 1]
  const page = useLoad(() => api.scans({ ...filters, ...(cursor === undefined ? {} : { cursor }), limit: "50" }), [
    params.toString(),
    cursor
  ])
  const apply = (event: Event) => {
    event.preventDefault()
    const data = new FormData(event.currentTarget as HTMLFormElement)
    const next: Record<string, string> = {}
    for (const field of FIELDS) {
      const value = String(data.get(field) ?? "").trim()
      if (value !== "") next[field] = field === "since" || field === "until" ? new Date(value).toISOString() : value
    }
    setPages([])
    location.hash = href.scans(next)
  }
  const shown = (scans: ReadonlyArray<ScanEntry>) =>
    scans.filter((scan) =>
      search.trim() === "" ||
      [scan.summary, scan.target, scan.resolved_target, scan.tool, scan.argv.join(" ")].some((text) =>
        text.toLowerCase().includes(search.trim().toLowerCase())
      )
    )
  return (
    <>
      <h1 tabIndex={-1}>Scans</h1>
      <form class="filters" onSubmit={apply} aria-label="Scan filters">
        <Field name="tool" label="Tool" value={filters.tool} />
        <Field name="target" label="Target" value={filters.target} />
        <div class="field">
          <label for="filter-outcome">Outcome</label>
          <select id="filter-outcome" name="outcome" value={filters.outcome ?? ""}>
            {OUTCOMES.map((outcome) => <option key={outcome} value={outcome}>{outcome === "" ? "any" : outcome}</option>)}
          </select>
        </div>
        <Field name="caller" label="Key id" value={filters.caller} />
        <Field name="since" label="Since" type="datetime-local" value={local(filters.since)} />
        <Field name="until" label="Until" type="datetime-local" value={local(filters.until)} />
        <button type="submit">Apply filters</button>
      </form>
      <div class="filter">
        <label for="scan-search">Search this page</label>
        <input id="scan-search" type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
      </div>
      {page.error !== undefined ? <ErrorBox error={page.error} /> : page.value === undefined ? <p aria-busy="true">Loading…</p> : (
        <>
          <ScanTable scans={shown(page.value.scans)} caption="Stored scans, newest first" />
          <p class="pager">
            {pages.length > 0 ? <button type="button" onClick={() => setPages(pages.slice(0, -1))}>Newer</button> : null}
            {page.value.next_cursor === null
              ? null
              : <button type="button" onClick={() => setPages([...pages, page.value!.next_cursor!])}>Older</button>}
          </p>
        </>
      )}
    </>
  )
}

/** An instant as `datetime-local` shows it: the browser's local time, to the minute. */
const local = (iso: string | undefined) => {
  if (iso === undefined) return undefined
  const date = new Date(iso)
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}

function Field(
  props: { readonly name: string; readonly label: string; readonly value: string | undefined; readonly type?: "text" | "datetime-local" }
) {
  return (
    <div class="field">
      <label for={`filter-${props.name}`}>{props.label}</label>
      {props.type === "datetime-local"
        ? <input id={`filter-${props.name}`} name={props.name} type="datetime-local" value={props.value ?? ""} />
        : <input id={`filter-${props.name}`} name={props.name} type="text" value={props.value ?? ""} />}
    </div>
  )
}
