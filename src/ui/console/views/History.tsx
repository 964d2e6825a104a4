import type { ScanEntry } from "../../../storage/ScanRecord.js"
import { api } from "../api.js"
import { useLoad } from "../hooks.js"
import { href } from "../route.js"
import { Outcome, Show, when } from "./common.js"

const DIFFABLE = new Set(["NmapTool", "MasscanTool"])

/** A target's scans as a timeline, newest first, each linked to the diff against the previous comparable one. */
export function History({ target }: { readonly target: string }) {
  const page = useLoad(() => api.history(target), [target])
  return (
    <>
      <h1 tabIndex={-1}>History of {target}</h1>
      <Show loaded={page}>{(p) => <Timeline scans={p.scans} />}</Show>
    </>
  )
}

const previousComparable = (scans: ReadonlyArray<ScanEntry>, i: number) => {
  const scan = scans[i]!
  if (!DIFFABLE.has(scan.tool) || scan.parse_status === "none") return undefined
  return scans.slice(i + 1).find((s) => s.tool === scan.tool && s.parse_status !== "none" && s.outcome !== "running")
}

function Timeline({ scans }: { readonly scans: ReadonlyArray<ScanEntry> }) {
  if (scans.length === 0) return <p>No stored scans of this target.</p>
  return (
    <ol class="timeline">
      {scans.map((scan, i) => {
        const previous = previousComparable(scans, i)
        return (
          <li key={scan.scan_id}>
            <time dateTime={scan.started_at}>{when(scan.started_at)}</time> <strong>{scan.tool}</strong> <Outcome outcome={scan.outcome} />
            {" "}
            <span class="summary">{scan.summary.split("\n")[0]}</span> <a href={href.scan(scan.scan_id)}>open</a>
            {previous === undefined ? null : (
              <>
                {" · "}
                <a href={href.diff(previous.scan_id, scan.scan_id)}>changes since {when(previous.started_at)}</a>
              </>
            )}
          </li>
        )
      })}
    </ol>
  )
}
