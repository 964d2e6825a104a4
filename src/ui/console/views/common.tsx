import type { ComponentChildren } from "preact"
import type { Loaded } from "../hooks.js"

/** A load's error as an alert (read out by screen readers), or its content once there. */
export function Show<A>({ children, loaded }: { readonly loaded: Loaded<A>; readonly children: (value: A) => ComponentChildren }) {
  if (loaded.error !== undefined) return <ErrorBox error={loaded.error} />
  if (loaded.value === undefined) return <p aria-busy="true">Loading…</p>
  return <>{children(loaded.value)}</>
}

export function ErrorBox({ error }: { readonly error: Error }) {
  return <p class="error" role="alert">{error.message}</p>
}

export const when = (iso: string | null | undefined) => (iso === null || iso === undefined ? "—" : new Date(iso).toLocaleString())

export const seconds = (value: number | null | undefined) => (value === null || value === undefined ? "—" : `${value.toFixed(2)} s`)

export function Outcome({ outcome }: { readonly outcome: string }) {
  return <span class={`outcome outcome-${outcome}`}>{outcome}</span>
}

/** A filter form's non-empty fields, trimmed; the `dates` (`datetime-local`, the browser's local time) as ISO 8601 instants. */
export const formFilters = (form: HTMLFormElement, fields: ReadonlyArray<string>, dates: ReadonlyArray<string>) => {
  const data = new FormData(form)
  const filters: Record<string, string> = {}
  for (const field of fields) {
    const value = String(data.get(field) ?? "").trim()
    if (value !== "") filters[field] = dates.includes(field) ? new Date(value).toISOString() : value
  }
  return filters
}

/** The fields of `params` that are filters, for the API call. */
export const filtersOf = (params: URLSearchParams, fields: ReadonlyArray<string>): Record<string, string> =>
  Object.fromEntries(fields.flatMap((field) => (params.get(field) ? [[field, params.get(field)!]] : [])))

/** An instant as `datetime-local` shows it: the browser's local time, to the minute. */
export const local = (iso: string | undefined) => {
  if (iso === undefined) return undefined
  const date = new Date(iso)
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16)
}

/**
 * A filter field, uncontrolled: it starts at the filter's value (its form is
 * keyed by the filters, so another address starts it afresh), and a
 * re-render — a live update of the page — leaves what is being typed alone.
 */
export function Field(
  props: {
    readonly name: string
    readonly label: string
    readonly value: string | undefined
    readonly type?: "text" | "search" | "datetime-local"
  }
) {
  const id = `filter-${props.name}`
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.type === "datetime-local"
        ? <input id={id} name={props.name} type="datetime-local" defaultValue={props.value ?? ""} />
        : props.type === "search"
        ? <input id={id} name={props.name} type="search" defaultValue={props.value ?? ""} />
        : <input id={id} name={props.name} type="text" defaultValue={props.value ?? ""} />}
    </div>
  )
}

/** A filter's choices, uncontrolled like `Field`: the option of the filter's value starts selected. */
export function Choice(
  props: {
    readonly name: string
    readonly label: string
    readonly options: ReadonlyArray<string>
    readonly value: string | undefined
    readonly empty?: string
  }
) {
  return (
    <div class="field">
      <label for={`filter-${props.name}`}>{props.label}</label>
      <select id={`filter-${props.name}`} name={props.name}>
        {props.options.map((option) => (
          <option key={option} value={option} selected={option === (props.value ?? "")}>
            {option === "" ? props.empty ?? "any" : option}
          </option>
        ))}
      </select>
    </div>
  )
}

/** Newer and Older, over a stack of the cursors of the pages before this one. */
export function Pager(
  { next, pages, setPages }: {
    readonly pages: ReadonlyArray<string>
    readonly setPages: (pages: ReadonlyArray<string>) => void
    readonly next: string | null
  }
) {
  return (
    <p class="pager">
      {pages.length > 0 ? <button type="button" onClick={() => setPages(pages.slice(0, -1))}>Newer</button> : null}
      {next === null ? null : <button type="button" onClick={() => setPages([...pages, next])}>Older</button>}
    </p>
  )
}
