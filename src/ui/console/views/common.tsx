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
