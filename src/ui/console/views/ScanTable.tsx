import type { ScanEntry } from "../../../storage/ScanRecord.js"
import { Head } from "../../components/Head.js"
import { href } from "../route.js"
import { Outcome, seconds, when } from "./common.js"

/** Stored scans as a table, each linked to its detail and its target's history. */
export function ScanTable({ caption, scans }: { readonly scans: ReadonlyArray<ScanEntry>; readonly caption: string }) {
  if (scans.length === 0) return <p>No scans.</p>
  return (
    <div class="scroll">
      <table class="scans">
        <caption>{caption}</caption>
        <Head columns={["Started", "Tool", "Target", "Outcome", "Time", "Summary", "Key"]} />
        <tbody>
          {scans.map((scan) => (
            <tr key={scan.scan_id} data-scan-id={scan.scan_id}>
              <td>
                <a href={href.scan(scan.scan_id)}>{when(scan.started_at)}</a>
              </td>
              <td>{scan.tool}</td>
              <td>
                <a href={href.history(scan.target)} title={`History of ${scan.target}`}>{scan.target}</a>
              </td>
              <td>
                <Outcome outcome={scan.outcome} />
              </td>
              <td>{seconds(scan.execution_time)}</td>
              <td class="summary">{scan.summary.split("\n")[0]}</td>
              <td>{scan.caller_id}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
