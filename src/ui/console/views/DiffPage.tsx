import { DiffView } from "../../components/DiffView.js"
import { api } from "../api.js"
import { useLoad } from "../hooks.js"
import { href } from "../route.js"
import { Show, when } from "./common.js"

/** The diff of two stored scans, from the earlier to the later. */
export function DiffPage({ from, to }: { readonly from: string; readonly to: string }) {
  const comparison = useLoad(() => api.diff(from, to), [from, to])
  return (
    <>
      <h1 tabIndex={-1}>Diff</h1>
      <Show loaded={comparison}>
        {(c) => (
          <>
            <p>
              From <a href={href.scan(c.from.scan_id)}>{when(c.from.started_at)}</a> to{" "}
              <a href={href.scan(c.to.scan_id)}>{when(c.to.started_at)}</a> of <a href={href.history(c.to.target)}>{c.to.target}</a>
            </p>
            <DiffView diff={c.diff} labels={[when(c.from.started_at), when(c.to.started_at)]} />
            <details>
              <summary>Summary text</summary>
              <pre>{c.summary}</pre>
            </details>
          </>
        )}
      </Show>
    </>
  )
}
