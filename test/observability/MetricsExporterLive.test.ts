import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { breakerState, toolExecutions, toolExecutionSeconds } from "../../src/observability/metrics.js"
import { MetricsExporter } from "../../src/observability/MetricsExporter.js"
import { MetricsExporterLive } from "../../src/observability/MetricsExporterLive.js"

const exporterWith = (enabled: boolean) =>
  MetricsExporterLive({ serviceName: "security-mcp-test", serviceVersion: "0.0.0" }).pipe(
    Layer.provide(ConfigService.layerWith({ metrics: { enabled } }))
  )

describe("MetricsExporterLive (Prometheus text through OpenTelemetry)", () => {
  it.scoped("renders Effect metrics with their Prometheus names, labels and values", () =>
    Effect.gen(function*() {
      const executions = Metric.tagged(
        Metric.tagged(Metric.tagged(toolExecutions, "tool", "NmapTool"), "status", "success"),
        "error_type",
        "none"
      )
      yield* Metric.increment(executions)
      yield* Metric.update(Metric.tagged(toolExecutionSeconds, "tool", "NmapTool"), 0.3)
      yield* Metric.set(Metric.tagged(breakerState, "name", "NmapTool"), 1)

      const text = yield* Effect.flatMap(MetricsExporter, (m) => m.scrape).pipe(Effect.provide(exporterWith(true)))
      const lines = text.split("\n")

      expect(lines.filter((l) => l === "mcp_tool_execution_total{tool=\"NmapTool\",status=\"success\",error_type=\"none\"} 1"))
        .toHaveLength(1)
      expect(lines).toContain("mcp_tool_execution_seconds_bucket{tool=\"NmapTool\",le=\"0.25\"} 0")
      expect(lines).toContain("mcp_tool_execution_seconds_bucket{tool=\"NmapTool\",le=\"0.5\"} 1")
      expect(lines).toContain("mcp_tool_execution_seconds_bucket{tool=\"NmapTool\",le=\"+Inf\"} 1")
      expect(lines).toContain("mcp_tool_execution_seconds_count{tool=\"NmapTool\"} 1")
      expect(lines).toContain("mcp_tool_execution_seconds_sum{tool=\"NmapTool\"} 0.3")
      expect(lines).toContain("circuit_breaker_state{name=\"NmapTool\"} 1")
      expect(lines).toContain("# TYPE mcp_tool_execution_total counter")
      expect(lines).toContain("# TYPE mcp_tool_execution_seconds histogram")
      expect(lines).toContain("# TYPE circuit_breaker_state gauge")
      expect(text).not.toContain("otel_scope_name")
      expect(text).not.toContain("target_info")
    }))

  it.scoped("serves an empty exposition when metrics are disabled", () =>
    Effect.gen(function*() {
      yield* Metric.increment(Metric.tagged(toolExecutions, "tool", "Disabled"))
      const text = yield* Effect.flatMap(MetricsExporter, (m) => m.scrape).pipe(Effect.provide(exporterWith(false)))
      expect(text).toBe("")
    }))
})
