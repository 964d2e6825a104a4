import { useEffect, useState } from "preact/hooks"
import { isNmapRun } from "../../components/model.js"
import { PortTable } from "../../components/PortTable.js"
import { api, type StoredExecution } from "../api.js"
import { useLoad } from "../hooks.js"
import { href } from "../route.js"
import { ErrorBox, Outcome, seconds, Show, when } from "./common.js"

const DIFFABLE = new Set(["NmapTool", "MasscanTool"])

/** One stored scan: what ran, how it ended, its hosts × ports, findings, raw output, a JSON download and a diff picker. */
export function ScanDetail({ id }: { readonly id: string }) {
  const scan = useLoad(() => api.scan(id), [id])
  return (
    <>
      <h1 tabIndex={-1}>Scan {id}</h1>
      <Show loaded={scan}>{(value) => <Detail scan={value} />}</Show>
    </>
  )
}

function Detail({ scan }: { readonly scan: StoredExecution }) {
  return (
    <>
      <dl class="facts">
        <dt>Tool</dt>
        <dd>{scan.tool}</dd>
        <dt>Target</dt>
        <dd>
          <a href={href.history(scan.metadata.target)}>{scan.metadata.target}</a> (pinned to {scan.metadata.resolved_target})
        </dd>
        <dt>Outcome</dt>
        <dd>
          <Outcome outcome={scan.outcome} /> {scan.error === null ? "" : `— ${scan.error}`}
        </dd>
        <dt>Started</dt>
        <dd>{when(scan.started_at)}</dd>
        <dt>Time</dt>
        <dd>{seconds(scan.execution_time)}</dd>
        <dt>Command</dt>
        <dd>
          <code>{scan.metadata.argv.join(" ")}</code>
        </dd>
        {scan.metadata.engagement === undefined || scan.metadata.engagement === null ? null : (
          <>
            <dt>Engagement</dt>
            <dd>{scan.metadata.engagement}</dd>
          </>
        )}
        <dt>Parse</dt>
        <dd>{scan.parse_status}</dd>
      </dl>
      {scan.metadata.notes.length > 0 ? <ul class="notes">{scan.metadata.notes.map((note) => <li key={note}>{note}</li>)}</ul> : null}
      <p>
        <Download scan={scan} />
      </p>
      <section aria-labelledby="summary-heading">
        <h2 id="summary-heading">Summary</h2>
        <pre class="summary-text">{scan.summary}</pre>
      </section>
      {isNmapRun(scan.structured)
        ? (
          <section aria-labelledby="hosts-heading">
            <h2 id="hosts-heading">Hosts and ports</h2>
            <PortTable run={scan.structured} />
          </section>
        )
        : null}
      {DIFFABLE.has(scan.tool) && scan.outcome !== "running" ? <ComparePicker scan={scan} /> : null}
      <RawOutput id={scan.scan_id} />
    </>
  )
}

/** The whole stored body as a file: made in the page from what was fetched, so the key never goes into a link. */
function Download({ scan }: { readonly scan: StoredExecution }) {
  const [url, setUrl] = useState<string | undefined>()
  useEffect(() => {
    const made = URL.createObjectURL(new Blob([JSON.stringify(scan, null, 2)], { type: "application/json" }))
    setUrl(made)
    return () => URL.revokeObjectURL(made)
  }, [scan])
  return url === undefined ? null : <a class="button" href={url} download={`scan-${scan.scan_id}.json`}>Download JSON</a>
}

/** Other scans of the same target and tool, to diff against (the earlier one is always the "from" side). */
function ComparePicker({ scan }: { readonly scan: StoredExecution }) {
  const history = useLoad(() => api.history(scan.metadata.resolved_target), [scan.scan_id])
  const [other, setOther] = useState("")
  const open = (event: Event) => {
    event.preventDefault()
    if (other === "") return
    location.hash = other < scan.scan_id ? href.diff(other, scan.scan_id) : href.diff(scan.scan_id, other)
  }
  return (
    <section aria-labelledby="compare-heading">
      <h2 id="compare-heading">Compare</h2>
      <Show loaded={history}>
        {(page) => {
          const candidates = page.scans.filter((s) => s.scan_id !== scan.scan_id && s.tool === scan.tool && s.parse_status !== "none")
          if (candidates.length === 0) return <p>No other {scan.tool} scan of this target to compare with.</p>
          return (
            <form onSubmit={open} class="compare">
              <label for="compare-with">Compare with</label>
              <select id="compare-with" value={other} onChange={(e) => setOther(e.currentTarget.value)}>
                <option value="">choose a scan</option>
                {candidates.map((s) => (
                  <option key={s.scan_id} value={s.scan_id}>{when(s.started_at)} — {s.outcome} — {s.summary.split("\n")[0]}</option>
                ))}
              </select>
              <button type="submit" disabled={other === ""}>Open diff</button>
            </form>
          )
        }}
      </Show>
    </section>
  )
}

function RawOutput({ id }: { readonly id: string }) {
  const [raw, setRaw] = useState<{ stdout: string; stderr: string } | Error | undefined>()
  const [asked, setAsked] = useState(false)
  // Fetched when first opened: a large scan's raw output can be megabytes.
  const load = () => {
    if (asked) return
    setAsked(true)
    api.raw(id).then(setRaw, (error: Error) => setRaw(error))
  }
  return (
    <section aria-labelledby="raw-heading">
      <h2 id="raw-heading">Raw output</h2>
      <details onToggle={load}>
        <summary>Show stdout and stderr</summary>
        {raw === undefined ? (asked ? <p aria-busy="true">Loading…</p> : null) : raw instanceof Error ? <ErrorBox error={raw} /> : (
          <>
            <h3>stdout</h3>
            <pre class="raw">{raw.stdout}</pre>
            {raw.stderr === "" ? null : (
              <>
                <h3>stderr</h3>
                <pre class="raw">{raw.stderr}</pre>
              </>
            )}
          </>
        )}
      </details>
    </section>
  )
}
