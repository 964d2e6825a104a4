import { Metric, MetricBoundaries } from "effect"

/** Store metrics, beside those of src/observability/metrics.ts; labels are operation names, a closed set. */

export const storeFailures = Metric.counter("mcp_store_failures_total", {
  description: "Store operations that failed (database down, disk full, write queue full), by operation",
  incremental: true
})

export const storeWriteSeconds = Metric.histogram(
  "mcp_store_write_seconds",
  MetricBoundaries.fromIterable([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5]),
  "Time to write one scan record (compression included), in seconds"
)

export const storeDeleted = Metric.counter("mcp_store_swept_scans_total", {
  description: "Scans deleted by the retention sweep, by rule (max_age, max_scans, max_bytes)",
  incremental: true
})
