import { Metric, MetricBoundaries } from "effect"

/**
 * Metric definitions with the names operators' dashboards and alerts use
 * (see config/grafana-dashboard.json and config/prometheus-alerts.yml).
 * Labels are stable: the tool's public name, never an object identity.
 */

export const toolExecutions = Metric.counter("mcp_tool_execution_total", {
  description: "Tool executions by outcome",
  incremental: true
})

export const toolExecutionSeconds = Metric.histogram(
  "mcp_tool_execution_seconds",
  MetricBoundaries.fromIterable([0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800]),
  "Tool execution duration in seconds"
)

export const toolActive = Metric.gauge("mcp_tool_active", { description: "Executions running now" })

export const toolErrors = Metric.counter("mcp_tool_errors_total", {
  description: "Tool execution errors by type",
  incremental: true
})

export const breakerState = Metric.gauge("circuit_breaker_state", {
  description: "Circuit breaker state: 0 closed, 1 open, 2 half-open"
})

export const breakerCalls = Metric.counter("circuit_breaker_calls_total", {
  description: "Calls through a circuit breaker by result (success, failure, rejected)",
  incremental: true
})

export const breakerTransitions = Metric.counter("circuit_breaker_transitions_total", {
  description: "Circuit breaker state transitions",
  incremental: true
})

export const rateLimited = Metric.counter("mcp_rate_limited_total", {
  description: "Calls rejected by a rate limit, by scope",
  incremental: true
})

export const policyRejections = Metric.counter("mcp_policy_rejections_total", {
  description: "Calls rejected by the target or argument policy, by rule",
  incremental: true
})
