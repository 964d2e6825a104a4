import { api, type ScanFilters } from "../api.js"
import { usePaged } from "../hooks.js"
import { href } from "../route.js"
import { Choice, ErrorBox, Field, filtersOf, formFilters, local, Pager } from "./common.js"
import { ScanTable } from "./ScanTable.js"

const OUTCOMES = ["", "running", "succeeded", "failed", "timed_out", "cancelled", "interrupted"]

const FIELDS = ["q", "tool", "target", "outcome", "caller", "since", "until"] as const

/** The scan list: the server's filters and text search (kept in the fragment, so a view can be bookmarked), paging. */
export function Scans({ params }: { readonly params: URLSearchParams }) {
  const filters: ScanFilters = filtersOf(params, FIELDS)
  const { page, pages, setPages } = usePaged((at) => api.scans({ ...filters, ...at, limit: "50" }), params.toString())
  const apply = (event: Event) => {
    event.preventDefault()
    location.hash = href.scans(formFilters(event.currentTarget as HTMLFormElement, FIELDS, ["since", "until"]))
  }
  return (
    <>
      <h1 tabIndex={-1}>Scans</h1>
      <form key={params.toString()} class="filters" onSubmit={apply} aria-label="Scan filters">
        <Field name="q" label="Search" type="search" value={filters.q} />
        <Field name="tool" label="Tool" value={filters.tool} />
        <Field name="target" label="Target" value={filters.target} />
        <Choice name="outcome" label="Outcome" options={OUTCOMES} value={filters.outcome} />
        <Field name="caller" label="Key id" value={filters.caller} />
        <Field name="since" label="Since" type="datetime-local" value={local(filters.since)} />
        <Field name="until" label="Until" type="datetime-local" value={local(filters.until)} />
        <button type="submit">Apply filters</button>
      </form>
      {page.error !== undefined ? <ErrorBox error={page.error} /> : page.value === undefined ? <p aria-busy="true">Loading…</p> : (
        <>
          <ScanTable scans={page.value.scans} caption="Stored scans, newest first" />
          <Pager pages={pages} setPages={setPages} next={page.value.next_cursor} />
        </>
      )}
    </>
  )
}
