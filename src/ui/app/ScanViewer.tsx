import { DiffView } from "../components/DiffView.js"
import { PortTable } from "../components/PortTable.js"
import type { View } from "./view.js"

/** The viewer's one screen: whatever the latest tool result is, rendered with the console's components. */
export function ScanViewer({ view }: { readonly view: View }) {
  switch (view.kind) {
    case "waiting":
      return <p role="status">Waiting for the tool result…</p>
    case "error":
      return (
        <section role="alert" aria-labelledby="failed">
          <h1 id="failed">The call failed</h1>
          <pre class="message">{view.message}</pre>
        </section>
      )
    case "text":
      return <pre class="message">{view.text}</pre>
    case "scan":
      return (
        <main>
          <h1>Scan result{view.scanId === null ? "" : ` ${view.scanId}`}</h1>
          {view.summary === "" ? null : <pre class="summary">{view.summary}</pre>}
          <PortTable run={view.run} idPrefix="scan" />
        </main>
      )
    case "diff": {
      const { diff, from, to } = view.comparison
      return (
        <main>
          <h1>Changes on {to.target}</h1>
          <p class="sides">
            {from.scan_id} ({from.started_at}) → {to.scan_id} ({to.started_at})
          </p>
          <DiffView diff={diff} labels={[from.started_at, to.started_at]} idPrefix="diff" />
        </main>
      )
    }
  }
}
