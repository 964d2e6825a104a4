import { useState } from "preact/hooks"
import { download } from "../download.js"
import { ErrorBox } from "./common.js"

/** One file the server makes: what the button says, the route, the name to save it under if the server names none. */
export interface DownloadItem {
  readonly label: string
  readonly path: string
  readonly fallback: string
}

/** Buttons that fetch a report or export with the key and save it (see download.ts); what was saved is announced. */
export function Downloads({ items, label }: { readonly items: ReadonlyArray<DownloadItem>; readonly label: string }) {
  const [saved, setSaved] = useState<string | undefined>()
  const [error, setError] = useState<Error | undefined>()
  const [busy, setBusy] = useState(false)
  const save = async (item: DownloadItem) => {
    setBusy(true)
    setError(undefined)
    try {
      setSaved(await download(item.path, item.fallback))
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)))
    } finally {
      setBusy(false)
    }
  }
  return (
    <div class="downloads" role="group" aria-label={label}>
      {items.map((item) => (
        <button key={item.path} type="button" class="secondary" disabled={busy} onClick={() => save(item)}>{item.label}</button>
      ))}
      {saved === undefined ? null : <span role="status">Saved {saved}</span>}
      {error === undefined ? null : <ErrorBox error={error} />}
    </div>
  )
}

const reports = (path: string, name: string, what: string): ReadonlyArray<DownloadItem> => [
  { label: `${what} report (Markdown)`, path: `${path}${path.includes("?") ? "&" : "?"}format=md`, fallback: `${name}.md` },
  { label: `${what} report (HTML)`, path: `${path}${path.includes("?") ? "&" : "?"}format=html`, fallback: `${name}.html` }
]

export const scanDownloads = (id: string, exportable: boolean): ReadonlyArray<DownloadItem> => {
  const base = `/scans/${encodeURIComponent(id)}`
  return [
    ...reports(`${base}/report`, `scan-${id}`, "Scan"),
    ...(exportable
      ? [
        { label: "Hosts and ports (JSON)", path: `${base}/export?format=json`, fallback: `scan-${id}-hosts.json` },
        { label: "Hosts and ports (CSV)", path: `${base}/export?format=csv`, fallback: `scan-${id}-hosts.csv` }
      ]
      : [])
  ]
}

export const diffDownloads = (from: string, to: string) =>
  reports(`/scans/${encodeURIComponent(from)}/diff/${encodeURIComponent(to)}/report`, `diff-${from}-${to}`, "Diff")

export const historyDownloads = (target: string) =>
  reports(`/history/report?target=${encodeURIComponent(target)}`, `history-${target.replace(/[^A-Za-z0-9.-]/g, "_")}`, "History")
