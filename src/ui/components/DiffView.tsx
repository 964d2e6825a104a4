import { useMemo, useState } from "preact/hooks"
import type { ScanDiff } from "../../results/ScanDiff.js"
import { FilterInput } from "./FilterInput.js"
import { Head } from "./Head.js"
import { diffCounts, type DiffKind, diffRowMatches, diffRows } from "./model.js"

/**
 * What changed between two scans (the REST `/scans/{id}/diff/{other}` body
 * or the ScanDiff tool's structured content): every change a row,
 * highlighted as opened, closed or changed, with a text mark too so the
 * highlight never depends on colour alone.
 */
export interface DiffViewProps {
  readonly diff: ScanDiff
  /** Names of the two sides, e.g. scan ids or dates (defaults: "earlier", "later"). */
  readonly labels?: readonly [string, string]
  readonly idPrefix?: string
}

const MARK: Readonly<Record<DiffKind, string>> = { opened: "+", closed: "−", changed: "~" }

export function DiffView({ diff, idPrefix = "diff", labels = ["earlier", "later"] }: DiffViewProps) {
  const [filter, setFilter] = useState("")
  const rows = useMemo(() => diffRows(diff), [diff])
  const shown = rows.filter((row) => diffRowMatches(row, filter))
  const counts = diffCounts(rows)
  const partial = !diff.a.complete || !diff.b.complete
  return (
    <section class="diff-view" aria-label="Scan differences">
      <p class="diff-summary" role="status">
        <span class="diff-opened">{MARK.opened} {counts.opened} opened</span>{" "}
        <span class="diff-closed">{MARK.closed} {counts.closed} closed</span>{" "}
        <span class="diff-changed">{MARK.changed} {counts.changed} changed</span> <span>{diff.hosts_unchanged} hosts unchanged</span>
      </p>
      {partial ? <p class="warning">One side is a partial scan: some changes may only be gaps in it.</p> : null}
      <FilterInput id={`${idPrefix}-filter`} label="Filter changes" value={filter} onInput={setFilter} placeholder="e.g. opened, 22/tcp" />
      {rows.length === 0 ? <p>No changes.</p> : (
        <div class="scroll">
          <table class="diff">
            <caption>Changes from {labels[0]} to {labels[1]}</caption>
            <Head columns={["Change", "Host", "Where", labels[0], labels[1], "Detail"]} />
            <tbody>
              {shown.map((row, i) => (
                <tr key={i} class={`diff-${row.kind}`}>
                  <td>
                    <span aria-hidden="true">{MARK[row.kind]}</span> {row.kind} {row.what}
                  </td>
                  <td>{row.host}</td>
                  <td>{row.where}</td>
                  <td>{row.from}</td>
                  <td>{row.to}</td>
                  <td>{row.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
