import { Schema } from "effect"
import { bounded, boundedInt } from "./bounded.js"

/**
 * The `watch` settings: scheduled rescans, where their change alerts go, and
 * how instances sharing one PostgreSQL store take turns running them. Webhook
 * URLs exist only here, never in caller input, and each is checked against
 * `webhook_egress` before anything is sent.
 */

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Which changes between two runs of a schedule raise an alert. */
export const AlertRule = Schema.Literal("any", "new_open_ports", "version_changes", "none").annotations({
  description:
    "any: every change (hosts, ports, services, scripts); new_open_ports: only ports newly open; version_changes: only service product/version changes; none: no alerts"
})
export type AlertRule = typeof AlertRule.Type

export const WebhookConfig = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(NAME_PATTERN)).annotations({ description: "The name schedules use in `webhooks`" }),
  url: Schema.String.pipe(Schema.pattern(/^https?:\/\/[^\s]+$/)).annotations({
    description: "Where change alerts are POSTed (JSON); its host must be in watch.webhook_egress"
  }),
  secret: Schema.Redacted(Schema.String.pipe(Schema.minLength(16))).annotations({
    description:
      "HMAC-SHA256 key of the X-Signature-256 header (t=<unix seconds>,v1=<hex of HMAC(secret, \"<t>.<body>\")>); at least 16 characters, never shown"
  }),
  timeout: Schema.optionalWith(bounded(0.1, 120, "Seconds one delivery attempt may take"), { default: () => 10 })
})
export type WebhookConfig = typeof WebhookConfig.Type

export const ScheduleSpec = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(NAME_PATTERN)).annotations({ description: "Name of the schedule (unique per owner)" }),
  tool: Schema.String.pipe(Schema.pattern(/^[A-Za-z][A-Za-z0-9_]{0,63}$/)).annotations({ description: "The tool to run, e.g. NmapTool" }),
  target: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(253)).annotations({ description: "The target, as a call sends it" }),
  args: Schema.optionalWith(Schema.Array(Schema.String.pipe(Schema.maxLength(512))).pipe(Schema.maxItems(128)), {
    default: () => []
  }).annotations({ description: "Argument tokens, checked by the tool's flag policy at every run" }),
  template: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }).annotations({
    description: "Named preset of the tool's arguments"
  }),
  engagement: Schema.optionalWith(Schema.NullOr(Schema.String.pipe(Schema.pattern(NAME_PATTERN))), { default: () => null })
    .annotations({ description: "The engagement the runs act in; default: the owner's only one" }),
  cron: Schema.optionalWith(Schema.NullOr(Schema.String.pipe(Schema.maxLength(200))), { default: () => null }).annotations({
    description: "Five-field cron expression in UTC (minute hour day-of-month month weekday); give cron or interval"
  }),
  interval: Schema.optionalWith(Schema.NullOr(Schema.Number.pipe(Schema.positive())), { default: () => null }).annotations({
    description: "Seconds between runs (at least watch.min_interval); give cron or interval"
  }),
  enabled: Schema.optionalWith(Schema.Boolean, { default: () => true }).annotations({ description: "Whether it runs" }),
  jitter: Schema.optionalWith(Schema.Number.pipe(Schema.between(0, 86400)), { default: () => 0 }).annotations({
    description: "Up to this many seconds of random delay added to each run, so many schedules do not start together"
  }),
  max_runtime: Schema.optionalWith(Schema.NullOr(Schema.Number.pipe(Schema.between(1, 86400))), { default: () => null })
    .annotations({ description: "Seconds a run may take before it is stopped (also its timeout_sec); default: the tool's timeout" }),
  alert: Schema.optionalWith(AlertRule, { default: () => "any" as const }),
  webhooks: Schema.optionalWith(Schema.Array(Schema.String.pipe(Schema.pattern(NAME_PATTERN))).pipe(Schema.maxItems(16)), {
    default: () => []
  }).annotations({ description: "Names of watch.webhooks told about changes" })
})
export type ScheduleSpec = typeof ScheduleSpec.Type

/** A schedule written by the operator: like one created through the API, with the key it runs as. */
export const ConfiguredSchedule = Schema.Struct({
  ...ScheduleSpec.fields,
  owner: Schema.optionalWith(Schema.String, { default: () => "operator" }).annotations({
    description: "API key id the runs act as; operator (the default): the local operator, with every scope but approve"
  })
})
export type ConfiguredSchedule = typeof ConfiguredSchedule.Type

export const WatchConfig = Schema.Struct({
  enabled: Schema.Boolean.annotations({
    description: "Run due schedules on this instance (schedules need the store; on PostgreSQL every instance may, each run goes to one)"
  }),
  poll_interval: bounded(0.05, 60, "Seconds between checks for due runs"),
  lease_seconds: bounded(
    1,
    3600,
    "Seconds a claimed run's lease lasts; renewed while it runs, another instance takes over a run whose lease expired"
  ),
  max_concurrent_runs: boundedInt(1, 256, "Scheduled runs one instance runs at once"),
  min_interval: bounded(1, 86400, "Shortest interval a schedule may have, in seconds"),
  max_schedules_per_owner: boundedInt(1, 100000, "Schedules one key may have"),
  schedules: Schema.Array(ConfiguredSchedule).annotations({
    description: "Schedules from the configuration (id config.<name>); the API cannot remove them"
  }),
  webhooks: Schema.Array(WebhookConfig).annotations({ description: "Webhooks change alerts are sent to, by name" }),
  webhook_egress: Schema.Array(Schema.String).annotations({
    description:
      "Hosts (exact names) and addresses or CIDRs webhooks may reach; loopback, link-local and metadata addresses only when listed"
  }),
  webhook_retries: boundedInt(0, 20, "Retries of a failed delivery before it is kept as a dead letter"),
  webhook_backoff: bounded(0.01, 3600, "Seconds before the first retry; doubled for each next one")
})
export type WatchConfig = typeof WatchConfig.Type

export const watchDefaults: typeof WatchConfig.Encoded = {
  enabled: true,
  poll_interval: 1,
  lease_seconds: 30,
  max_concurrent_runs: 4,
  min_interval: 60,
  max_schedules_per_owner: 100,
  schedules: [],
  webhooks: [],
  webhook_egress: [],
  webhook_retries: 5,
  webhook_backoff: 2
}
