import { Context, type Effect } from "effect"

export type HealthStatus = "healthy" | "degraded" | "unhealthy"

/** CRITICAL failures make the server unhealthy, IMPORTANT ones degraded, INFORMATIONAL ones are reported only. */
export type Priority = "CRITICAL" | "IMPORTANT" | "INFORMATIONAL"

export interface CheckResult {
  readonly status: HealthStatus
  readonly message: string
  readonly metadata?: Readonly<Record<string, unknown>>
}

export interface HealthCheck {
  readonly name: string
  readonly priority: Priority
  readonly run: Effect.Effect<CheckResult>
}

export interface CheckReport extends CheckResult {
  readonly priority: Priority
  readonly checked_at: string
  readonly duration_ms: number
  readonly stale: boolean
}

export interface HealthReport {
  readonly status: HealthStatus
  readonly timestamp: string
  readonly transport: string
  readonly checks: Readonly<Record<string, CheckReport>>
  readonly summary: {
    readonly total_checks: number
    readonly healthy_checks: number
    readonly degraded_checks: number
    readonly unhealthy_checks: number
  }
}

/** Health as last computed by the background fiber; reading never runs a check. */
export class Health extends Context.Tag("security-mcp/Health")<
  Health,
  {
    readonly report: Effect.Effect<HealthReport>
    /** Runs every check now (used at start-up and by tests). */
    readonly refresh: Effect.Effect<HealthReport>
  }
>() {}

export const statusCode = (status: HealthStatus): 200 | 207 | 503 =>
  status === "healthy" ? 200 : status === "degraded" ? 207 : 503
