import { Schema } from "effect"
import type { AlertRule } from "../config/watch.js"
import { ScanDiff } from "../results/ScanDiff.js"

/**
 * Which changes between two runs of a schedule are worth an alert, and the
 * alert itself: one JSON shape for the webhook body and the SSE event.
 */

/** Every change the diff names (hosts, ports, services, scripts). */
export const changeCount = (d: ScanDiff): number =>
  d.hosts_new.length + d.hosts_gone.length + d.hosts_state_changed.length + d.ports_opened.length + d.ports_closed.length +
  d.ports_state_changed.length + d.services_changed.length + d.scripts_changed.length

/** Open ports of hosts that are new, and ports newly open on known hosts. */
const newOpenPorts = (d: ScanDiff): number => d.ports_opened.length + d.hosts_new.reduce((n, h) => n + h.open_ports.length, 0)

const versionChanges = (d: ScanDiff): number =>
  d.services_changed.filter((s) => s.changes.some((c) => c.field === "product" || c.field === "version")).length

/** How many of the diff's changes the rule alerts on (0: no alert). */
export const alertingChanges = (d: ScanDiff, rule: AlertRule): number => {
  switch (rule) {
    case "any":
      return changeCount(d)
    case "new_open_ports":
      return newOpenPorts(d)
    case "version_changes":
      return versionChanges(d)
    case "none":
      return 0
  }
}

export const ChangeAlert = Schema.Struct({
  type: Schema.Literal("schedule.changed"),
  alert_id: Schema.String.annotations({ description: "Unique per alert; the same in every retry of its delivery" }),
  schedule_id: Schema.String,
  schedule: Schema.String.annotations({ description: "The schedule's name" }),
  owner: Schema.String,
  run_id: Schema.String,
  tool: Schema.String,
  target: Schema.String,
  rule: Schema.String,
  changes: Schema.Number,
  from_scan_id: Schema.String,
  to_scan_id: Schema.String,
  summary: Schema.String,
  diff: ScanDiff,
  at: Schema.String
}).annotations({ identifier: "ChangeAlert", description: "What a webhook receives when a scheduled scan found changes" })
export type ChangeAlert = typeof ChangeAlert.Type
