import { Context, type Effect, Schema } from "effect"
import { JsonObject } from "../JsonValue.js"

export const HealthStatus = Schema.Literal("healthy", "degraded", "unhealthy")
export type HealthStatus = typeof HealthStatus.Type

/** CRITICAL failures make the server unhealthy, IMPORTANT ones degraded, INFORMATIONAL ones are reported only. */
export const Priority = Schema.Literal("CRITICAL", "IMPORTANT", "INFORMATIONAL")
export type Priority = typeof Priority.Type

export const CheckResult = Schema.Struct({
  status: HealthStatus,
  message: Schema.String,
  metadata: Schema.optionalWith(JsonObject, { exact: true })
})
export type CheckResult = typeof CheckResult.Type

export interface HealthCheck {
  readonly name: string
  readonly priority: Priority
  readonly run: Effect.Effect<CheckResult>
}

export const CheckReport = Schema.Struct({
  ...CheckResult.fields,
  priority: Priority,
  checked_at: Schema.String.annotations({ jsonSchema: { format: "date-time" } }),
  duration_ms: Schema.Number,
  stale: Schema.Boolean.annotations({ description: "The result is older than health.staleness_seconds" })
})
export type CheckReport = typeof CheckReport.Type

/** The server's status: its checks' worst, or `draining` once it is shutting down (so load balancers stop sending). */
export const ReportStatus = Schema.Literal(...HealthStatus.literals, "draining")
export type ReportStatus = typeof ReportStatus.Type

export const HealthReport = Schema.Struct({
  status: ReportStatus,
  timestamp: Schema.String.annotations({ jsonSchema: { format: "date-time" } }),
  transport: Schema.String,
  checks: Schema.Record({ key: Schema.String, value: CheckReport }),
  summary: Schema.Struct({
    total_checks: Schema.Number,
    healthy_checks: Schema.Number,
    degraded_checks: Schema.Number,
    unhealthy_checks: Schema.Number
  })
})
export type HealthReport = typeof HealthReport.Type

/** Health as last computed by the background fiber; reading never runs a check. */
export class Health extends Context.Tag("security-mcp/Health")<
  Health,
  {
    readonly report: Effect.Effect<HealthReport>
    /** Runs every check now (used at start-up and by tests). */
    readonly refresh: Effect.Effect<HealthReport>
  }
>() {}

export const statusCode = (status: ReportStatus): 200 | 207 | 503 => status === "healthy" ? 200 : status === "degraded" ? 207 : 503
