import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import type { TimedEvent } from "../../../events/Events.js"
import type { ToolInfo } from "../../../execution/ToolExecutor.js"
import type { ScanEntry, ScanPage } from "../../../storage/ScanRecord.js"
import { Head } from "../../components/Head.js"
import { api, ApiError, streamEvents } from "../api.js"
import { type Loaded, useInterval, useLoad } from "../hooks.js"
import { href } from "../route.js"
import { Show, when } from "./common.js"
import { ScanTable } from "./ScanTable.js"

/** A call that is running now: from the running scans at load, then from the event stream. */
interface Running {
  readonly correlationId: string
  readonly tool: string
  readonly target: string
  readonly caller: string
  readonly startedAt: number
  readonly scanId?: string
  readonly progress?: { readonly percent?: number | undefined; readonly hostsUp: number; readonly openPorts: number }
}

type Live = "connecting" | "live" | "polling"

const runningOf = (scan: ScanEntry): Running => ({
  correlationId: scan.correlation_id,
  tool: scan.tool,
  target: scan.target,
  caller: scan.caller_id,
  startedAt: Date.parse(scan.started_at),
  scanId: scan.scan_id
})

/** The dashboard: health, tools and their breakers, running calls (live over /events), recent scans, recent events. */
export function Dashboard() {
  const [running, setRunning] = useState<ReadonlyMap<string, Running>>(new Map())
  const [events, setEvents] = useState<ReadonlyArray<TimedEvent>>([])
  const [live, setLive] = useState<Live>("connecting")
  const recent = useLoad(() => api.scans({ limit: "10" }), [])
  const health = useLoad(() => api.health(), [])
  const tools = useLoad(() => api.tools(), [])
  const refreshRunning = useCallback(() =>
    api.scans({ outcome: "running", limit: "50" }).then(
      (page) => setRunning((m) => mergeRunning(m, page.scans)),
      () => undefined
    ), [])
  useEffect(() => void refreshRunning(), [])
  const onEvent = useCallback((event: TimedEvent) => {
    setEvents((list) => [event, ...list].slice(0, 20))
    if (event.type === "execution.started") {
      setRunning((m) =>
        new Map(m).set(event.correlationId, { ...event, startedAt: Date.parse(event.timestamp), correlationId: event.correlationId })
      )
      void refreshRunning()
      recent.reload()
    } else if (event.type === "execution.finished") {
      setRunning((m) => {
        const next = new Map(m)
        next.delete(event.correlationId)
        return next
      })
      recent.reload()
      tools.reload()
    } else if (event.type === "scan.progress") {
      setRunning((m) => progressed(m, event))
    } else if (event.type === "breaker.transition" || event.type === "tool.enabled" || event.type === "tool.disabled") {
      tools.reload()
    } else if (event.type === "health.changed") {
      health.reload()
    }
  }, [])
  useEventStream(onEvent, setLive)
  useRefresh(live, refreshRunning, recent, tools, health)
  return (
    <>
      <h1 tabIndex={-1}>Dashboard</h1>
      <LiveStatus live={live} />
      <div class="grid">
        <section aria-labelledby="health-heading">
          <h2 id="health-heading">Health</h2>
          <Show loaded={health}>{(report) => <HealthPanel report={report} />}</Show>
        </section>
        <section aria-labelledby="running-heading">
          <h2 id="running-heading">Running now</h2>
          <RunningList running={[...running.values()]} />
        </section>
      </div>
      <section aria-labelledby="tools-heading">
        <h2 id="tools-heading">Tools, breakers and call rates</h2>
        <Show loaded={tools}>{(list) => <ToolsTable tools={list} />}</Show>
      </section>
      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">Recent scans</h2>
        <Show loaded={recent}>{(page) => <ScanTable scans={page.scans} caption="The ten newest scans" />}</Show>
        <p>
          <a href={href.scans()}>All scans</a>
        </p>
      </section>
      <section aria-labelledby="events-heading">
        <h2 id="events-heading">Recent events</h2>
        <EventList events={events} />
      </section>
    </>
  )
}

/** Without the event stream, everything is reloaded every 5 s; a running scan in the list is looked at again until it ends. */
const useRefresh = (
  live: Live,
  refreshRunning: () => Promise<void>,
  recent: Loaded<ScanPage>,
  ...others: ReadonlyArray<Loaded<unknown>>
) => {
  const poll = useCallback(() => {
    if (live !== "polling") return
    void refreshRunning()
    recent.reload()
    for (const other of others) other.reload()
  }, [live])
  useInterval(poll, 5_000)
  // A finished call's row is written by the store's queue just after the event: while the list shows a running scan, look again.
  const settle = useCallback(() => {
    if (recent.value?.scans.some((scan) => scan.outcome === "running") === true) recent.reload()
  }, [recent.value])
  useInterval(settle, 1_500)
}

function LiveStatus({ live }: { readonly live: Live }) {
  return (
    <p class="live" role="status">
      {live === "live"
        ? "Live: updates arrive over /events."
        : live === "polling"
        ? "Live events need a key with the admin scope: refreshing every 5 s."
        : "Connecting to live events…"}
    </p>
  )
}

/** The stored running scans, plus calls the stream announced that the store has not listed yet (their row is queued). */
const mergeRunning = (m: ReadonlyMap<string, Running>, scans: ReadonlyArray<ScanEntry>): ReadonlyMap<string, Running> => {
  const next = new Map(scans.map((scan) => [scan.correlation_id, { ...runningOf(scan), ...pick(m.get(scan.correlation_id)) }]))
  for (const [id, entry] of m) if (!next.has(id) && entry.scanId === undefined) next.set(id, entry)
  return next
}

const pick = (entry: Running | undefined) => (entry?.progress === undefined ? {} : { progress: entry.progress })

const progressed = (m: ReadonlyMap<string, Running>, event: Extract<TimedEvent, { type: "scan.progress" }>) => {
  const entry = [...m.values()].find((r) => r.scanId === event.scanId)
  if (entry === undefined) return m
  return new Map(m).set(entry.correlationId, { ...entry, scanId: event.scanId, progress: event })
}

/** Follows /events while mounted, reconnecting after a drop; a refusal (no admin scope) switches to polling. */
const useEventStream = (onEvent: (event: TimedEvent) => void, setLive: (live: Live) => void) => {
  const handler = useRef(onEvent)
  handler.current = onEvent
  useEffect(() => {
    const abort = new AbortController()
    const connect = (): void => {
      setLive("connecting")
      streamEvents((event) => handler.current(event), abort.signal, () => setLive("live")).then(
        () => void (abort.signal.aborted || setTimeout(connect, 2_000)),
        (error: unknown) => {
          if (abort.signal.aborted) return
          if (error instanceof ApiError) return setLive("polling")
          setTimeout(connect, 2_000)
        }
      )
    }
    connect()
    return () => abort.abort()
  }, [])
}

function HealthPanel({ report }: { readonly report: Awaited<ReturnType<typeof api.health>> }) {
  return (
    <>
      <p>
        Status: <strong class={`health-${report.status}`}>{report.status}</strong> ({when(report.timestamp)})
      </p>
      <ul class="checks">
        {Object.entries(report.checks).map(([name, check]) => (
          <li key={name}>
            <span class={`health-${check.status}`}>{check.status}</span> {name}: {check.message}
          </li>
        ))}
      </ul>
    </>
  )
}

function RunningList({ running }: { readonly running: ReadonlyArray<Running> }) {
  const [now, setNow] = useState(Date.now())
  useInterval(useCallback(() => setNow(Date.now()), []), 1_000)
  if (running.length === 0) return <p>Nothing is running.</p>
  return (
    <ul class="running" aria-live="polite">
      {running.map((r) => (
        <li key={r.correlationId}>
          <strong>{r.tool}</strong> {r.target} <span class="muted">by {r.caller}</span>{" "}
          {Math.max(0, Math.round((now - r.startedAt) / 1000))} s
          {r.progress === undefined ? null : <ProgressBar progress={r.progress} />}
          {r.scanId === undefined ? null : (
            <>
              {" "}
              <a href={href.scan(r.scanId)}>open</a>
            </>
          )}
        </li>
      ))}
    </ul>
  )
}

function ProgressBar({ progress }: { readonly progress: NonNullable<Running["progress"]> }) {
  return (
    <span class="progress">
      {progress.percent === undefined ?
        null :
        <progress max={100} value={progress.percent} aria-label="Scan progress">{progress.percent.toFixed(0)}%</progress>}{" "}
      {progress.hostsUp} hosts up, {progress.openPorts} open ports
    </span>
  )
}

/** Calls per minute, measured between two loads of /tools while the page is open. */
const useRates = (tools: ReadonlyArray<ToolInfo>) => {
  const first = useRef<{ readonly at: number; readonly totals: ReadonlyMap<string, number> } | undefined>(undefined)
  if (first.current === undefined) first.current = { at: Date.now(), totals: new Map(tools.map((t) => [t.name, t.stats.total])) }
  const minutes = (Date.now() - first.current.at) / 60_000
  return (tool: ToolInfo) =>
    minutes < 0.05 ? "—" : ((tool.stats.total - (first.current!.totals.get(tool.name) ?? tool.stats.total)) / minutes).toFixed(1)
}

function ToolsTable({ tools }: { readonly tools: ReadonlyArray<ToolInfo> }) {
  const rate = useRates(tools)
  return (
    <div class="scroll">
      <table>
        <caption>Every registered tool (rates over the last executions; calls/min since this page opened)</caption>
        <Head columns={["Tool", "State", "Breaker", "Running", "Calls", "Calls/min", "Success", "p50 / p95"]} />
        <tbody>
          {tools.map((tool) => (
            <tr key={tool.name}>
              <th scope="row">{tool.name}</th>
              <td>{!tool.available ? "unavailable" : tool.enabled ? "enabled" : "disabled"}</td>
              <td class={`breaker-${tool.circuitState}`}>{tool.circuitState}</td>
              <td>{tool.stats.active}</td>
              <td>{tool.stats.total}</td>
              <td>{rate(tool)}</td>
              <td>{tool.stats.successRate === null ? "—" : `${Math.round(tool.stats.successRate * 100)}%`}</td>
              <td>
                {[tool.stats.latencySeconds.p50, tool.stats.latencySeconds.p95].map((v) => (v === null ? "—" : `${v.toFixed(2)} s`)).join(
                  " / "
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}

function EventList({ events }: { readonly events: ReadonlyArray<TimedEvent> }) {
  if (events.length === 0) return <p>No events since this page opened.</p>
  return (
    <ol class="events">
      {events.map((event, i) => (
        <li key={`${event.timestamp}-${i}`}>
          <time>{when(event.timestamp)}</time> <code>{event.type}</code> {describe(event)}
        </li>
      ))}
    </ol>
  )
}

const describe = (event: TimedEvent): string => {
  switch (event.type) {
    case "execution.started":
      return `${event.tool} ${event.target} (${event.caller})`
    case "execution.finished":
      return `${event.tool}: ${event.outcome} in ${event.durationSeconds.toFixed(2)} s`
    case "breaker.transition":
      return `${event.tool}: ${event.from} → ${event.to}`
    case "approval.requested":
      return `${event.tool} ${event.target} by ${event.requestedBy}`
    case "approval.decided":
      return `${event.approvalId}: ${event.decision} by ${event.decidedBy}`
    case "health.changed":
      return `${event.from} → ${event.to}`
    default:
      return ""
  }
}
