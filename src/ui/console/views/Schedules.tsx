import { useCallback, useEffect, useState } from "preact/hooks"
import type { Approval } from "../../../Approval.js"
import type { Schedule, ScheduleRun } from "../../../storage/ScheduleRecord.js"
import { api } from "../api.js"
import { scheduleBody, type ScheduleFields, timingText } from "../forms.js"
import { type Loaded, useAction, useInterval, useLoad } from "../hooks.js"
import { href } from "../route.js"
import { standingState, standingText } from "../watchText.js"
import { ErrorBox, Show, when } from "./common.js"
import { DeadLetters } from "./DeadLetters.js"

/**
 * Scheduled rescans this key may see (an admin: every key's), a form to add
 * one, each one's runs linked to their scans, its standing approval and an
 * enable/disable switch; for an admin, the alerts no webhook took.
 * `selected` (from `#/schedules/{id}`) is listed first and marked.
 */
export function Schedules({ admin, selected }: { readonly selected: string | undefined; readonly admin: boolean }) {
  const list = useLoad(() => api.schedules(), [])
  const standing = useLoad(() => api.approvals({ kind: "standing" }), [])
  // Runs and decisions happen elsewhere: look again every 5 s.
  const reload = useCallback(() => (list.reload(), standing.reload()), [list.reload, standing.reload])
  useInterval(reload, 5_000)
  return (
    <>
      <h1 tabIndex={-1}>Schedules</h1>
      <CreateSchedule onCreated={reload} />
      <section aria-labelledby="schedule-list-heading">
        <h2 id="schedule-list-heading">Scheduled rescans</h2>
        <Show loaded={list}>
          {(schedules) =>
            schedules.length === 0
              ? <p>No schedules.</p>
              : (
                <ul class="schedules">
                  {[...schedules].sort((a, b) => Number(b.schedule_id === selected) - Number(a.schedule_id === selected)).map((s) => (
                    <ScheduleCard
                      key={s.schedule_id}
                      schedule={s}
                      standing={standing}
                      selected={s.schedule_id === selected}
                      onChanged={reload}
                    />
                  ))}
                </ul>
              )}
        </Show>
      </section>
      {admin ? <DeadLetters /> : null}
    </>
  )
}

const EMPTY: ScheduleFields = {
  name: "",
  tool: "NmapTool",
  target: "",
  args: "",
  engagement: "",
  timing: "interval",
  interval: "3600",
  cron: ""
}

function CreateSchedule({ onCreated }: { readonly onCreated: () => void }) {
  const tools = useLoad(() => api.tools(), [])
  const [fields, setFields] = useState<ScheduleFields>(EMPTY)
  const [error, setError] = useState<Error | undefined>()
  const [created, setCreated] = useState<string | undefined>()
  const set = (name: keyof ScheduleFields) => (event: { currentTarget: { value: string } }) =>
    setFields({ ...fields, [name]: event.currentTarget.value })
  const submit = async (event: Event) => {
    event.preventDefault()
    setError(undefined)
    setCreated(undefined)
    try {
      const schedule = await api.createSchedule(scheduleBody(fields))
      setCreated(schedule.name)
      setFields(EMPTY)
      onCreated()
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)))
    }
  }
  const input = (name: keyof ScheduleFields, label: string, extra: Record<string, unknown> = {}) => (
    <div class="field">
      <label for={`schedule-${name}`}>{label}</label>
      <input id={`schedule-${name}`} value={fields[name]} onInput={set(name)} {...extra} />
    </div>
  )
  return (
    <section aria-labelledby="schedule-new-heading">
      <h2 id="schedule-new-heading">New schedule</h2>
      <form class="filters" onSubmit={submit} aria-labelledby="schedule-new-heading">
        {input("name", "Name", { required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._-]*" })}
        <div class="field">
          <label for="schedule-tool">Tool</label>
          <select id="schedule-tool" value={fields.tool} onChange={set("tool")}>
            {(tools.value ?? [{ name: "NmapTool" }]).map((tool) => <option key={tool.name} value={tool.name}>{tool.name}</option>)}
          </select>
        </div>
        {input("target", "Target", { required: true })}
        {input("args", "Arguments", { placeholder: "-sT -p 22,80" })}
        {input("engagement", "Engagement", { placeholder: "the key's only one" })}
        <div class="field">
          <label for="schedule-timing">Runs</label>
          <select id="schedule-timing" value={fields.timing} onChange={set("timing")}>
            <option value="interval">every N seconds</option>
            <option value="cron">on a cron schedule (UTC)</option>
          </select>
        </div>
        {fields.timing === "interval"
          ? input("interval", "Interval (seconds)", { type: "number", min: 1, required: true })
          : input("cron", "Cron (minute hour day month weekday)", { required: true, placeholder: "0 3 * * *" })}
        <button type="submit">Create schedule</button>
      </form>
      {error === undefined ? null : <ErrorBox error={error} />}
      {created === undefined ? null : <p role="status">Schedule {created} created.</p>}
    </section>
  )
}

interface CardProps {
  readonly schedule: Schedule
  readonly standing: Loaded<ReadonlyArray<Approval>>
  readonly selected: boolean
  readonly onChanged: () => void
}

function ScheduleCard({ onChanged, schedule, selected, standing }: CardProps) {
  const id = `schedule-${schedule.schedule_id.replace(/[^A-Za-z0-9_-]/g, "_")}`
  const last = schedule.recent_runs[0]
  useEffect(() => {
    if (selected) document.getElementById(`${id}-title`)?.scrollIntoView({ block: "center" })
  }, [selected])
  return (
    <li
      class={selected ? "schedule selected" : "schedule"}
      aria-labelledby={`${id}-title`}
      aria-current={selected ? "true" : undefined}
      data-schedule-id={schedule.schedule_id}
    >
      <h3 id={`${id}-title`}>
        {schedule.name}: {schedule.tool} {schedule.target}{" "}
        <span class={`status status-${schedule.enabled ? "approved" : "denied"}`}>{schedule.enabled ? "enabled" : "disabled"}</span>
        {schedule.running ? <span class="status status-pending">running</span> : null}
      </h3>
      <dl class="facts">
        <dt>Runs</dt>
        <dd>{timingText(schedule)}</dd>
        <dt>Arguments</dt>
        <dd>{schedule.args.length === 0 ? "—" : <code>{schedule.args.join(" ")}</code>}</dd>
        <dt>Engagement</dt>
        <dd>{schedule.engagement ?? "— (the owner's only one)"}</dd>
        <dt>Owner</dt>
        <dd>{schedule.owner} ({schedule.source === "config" ? "from the configuration" : "created through the API"})</dd>
        <dt>Last run</dt>
        <dd>{last === undefined ? "not yet" : <RunText run={last} />}</dd>
        <dt>Next run</dt>
        <dd>{schedule.enabled ? when(schedule.next_run_at) : "— (disabled)"}</dd>
        <dt>Standing approval</dt>
        <dd class="standing">
          <StandingText scheduleId={schedule.schedule_id} standing={standing} />
        </dd>
      </dl>
      {schedule.recent_runs.length > 1
        ? (
          <details>
            <summary>Recent runs ({schedule.recent_runs.length})</summary>
            <ol class="runs">
              {schedule.recent_runs.map((run) => (
                <li key={run.run_id}>
                  <RunText run={run} />
                </li>
              ))}
            </ol>
          </details>
        )
        : null}
      {schedule.source === "config"
        ? <p class="muted">Change or remove it in watch.schedules in the configuration.</p>
        : <ScheduleActions schedule={schedule} onChanged={onChanged} />}
    </li>
  )
}

/** Enable or disable (PATCH), and delete after an inline confirmation; the server's refusal shown. */
function ScheduleActions({ onChanged, schedule }: { readonly schedule: Schedule; readonly onChanged: () => void }) {
  const [confirming, setConfirming] = useState(false)
  const action = useAction(onChanged)
  const act = (call: () => Promise<unknown>) => () => void action.run(call)
  return (
    <>
      <div class="decision">
        <button
          type="button"
          class="secondary"
          onClick={act(() => api.setScheduleEnabled(schedule.schedule_id, !schedule.enabled))}
        >
          {schedule.enabled ? "Disable" : "Enable"} {schedule.name}
        </button>
        {confirming
          ? (
            <>
              <span>Delete {schedule.name}?</span>
              <button type="button" class="danger" onClick={act(() => api.removeSchedule(schedule.schedule_id))}>Yes, delete</button>
              <button type="button" class="secondary" onClick={() => setConfirming(false)}>Keep it</button>
            </>
          )
          : <button type="button" class="secondary" onClick={() => setConfirming(true)}>Delete {schedule.name}</button>}
      </div>
      {action.error === undefined ? null : <ErrorBox error={action.error} />}
    </>
  )
}

function StandingText(
  { scheduleId, standing }: { readonly scheduleId: string; readonly standing: Loaded<ReadonlyArray<Approval>> }
) {
  if (standing.value === undefined) return <>{standing.error === undefined ? "…" : `unknown (${standing.error.message})`}</>
  const state = standingState(standing.value, scheduleId, Date.now())
  return (
    <>
      <span class={`status status-${state.state}`}>{state.state === "none" ? "none needed" : state.state}</span>{" "}
      {state.state === "none" ? null : (
        <>
          {standingText(state, when)} · <a href={href.approvals}>{state.approval.approval_id}</a>
        </>
      )}
    </>
  )
}

function RunText({ run }: { readonly run: ScheduleRun }) {
  return (
    <>
      <time dateTime={run.started_at}>{when(run.started_at)}</time> <span class={`run-${run.status}`}>{run.status}</span>
      {run.changes === null ? null : ` · ${run.changes} ${run.changes === 1 ? "change" : "changes"}`}
      {run.reason === null ? null : ` · ${run.reason}`}
      {run.scan_id === null ? null : (
        <>
          {" · "}
          <a href={href.scan(run.scan_id)}>scan</a>
        </>
      )}
    </>
  )
}
