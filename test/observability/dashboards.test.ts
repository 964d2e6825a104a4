import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { parse } from "yaml"

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8")

/** Metric names as declared in metrics.ts, plus Prometheus's own `up`. */
const known = new Set([
  ...[...read("src/observability/metrics.ts").matchAll(/Metric\.(counter|gauge|histogram)\(\s*"([a-z_:][a-z0-9_:]*)"/g)].map((m) => m[2]!),
  "up"
])

const promqlWords = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "topk",
  "bottomk",
  "rate",
  "irate",
  "increase",
  "delta",
  "histogram_quantile",
  "absent",
  "vector",
  "clamp_min",
  "clamp_max",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "label_values"
])

/** The metric names an expression selects: identifiers that are not functions, keywords, label names or values. */
const metricNames = (expr: string): ReadonlyArray<string> =>
  [
    ...expr
      .replace(/"[^"]*"/g, "")
      .replace(/\{[^}]*\}/g, "")
      .replace(/\[[^\]]*\]/g, "")
      .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "")
      .replace(/,\s*[a-z_]+\s*\)/g, ")")
      .replace(/\$[A-Za-z_]+/g, "")
      .matchAll(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b/g)
  ]
    .map((m) => m[0])
    .filter((word) => !promqlWords.has(word) && !/^\d/.test(word))
    .map((name) =>
      name.replace(/_(bucket|sum|count)$/, (suffix, _s, _o, whole: string) => known.has(whole.slice(0, -suffix.length)) ? "" : suffix)
    )

const collectExprs = (node: unknown, out: Array<string> = []): Array<string> => {
  if (Array.isArray(node)) node.forEach((n) => collectExprs(n, out))
  else if (typeof node === "object" && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if ((key === "expr" || key === "definition") && typeof value === "string") out.push(value)
      else collectExprs(value, out)
    }
  }
  return out
}

describe("metric names", () => {
  it("finds metric names in PromQL", () => {
    expect(metricNames("histogram_quantile(0.99, sum by (tool, le) (rate(mcp_tool_execution_seconds_bucket{tool=~\"$tool\"}[5m])))"))
      .toEqual(["mcp_tool_execution_seconds"])
    expect(metricNames("label_values(mcp_tool_execution_total, tool)")).toEqual(["mcp_tool_execution_total"])
    expect(metricNames("count(circuit_breaker_state > 0) or vector(0)")).toEqual(["circuit_breaker_state"])
    expect(known.has("mcp_tool_execution_seconds")).toBe(true)
  })
})

describe("config/grafana-dashboard.json", () => {
  const dashboard = JSON.parse(read("config/grafana-dashboard.json"))
  const exprs = collectExprs(dashboard)

  it("is an importable dashboard whose queries use only defined metrics", () => {
    expect(dashboard.uid).toBe("security-mcp-server")
    expect(dashboard.__inputs[0].name).toBe("DS_PROMETHEUS")
    expect(exprs.length).toBeGreaterThan(10)
    for (const expr of exprs) {
      const names = metricNames(expr)
      expect(names.length, expr).toBeGreaterThan(0)
      for (const name of names) expect(known, `${name} in ${expr}`).toContain(name)
    }
  })

  it("covers the panels operators need", () => {
    const all = exprs.join("\n")
    for (const q of ["0.5", "0.95", "0.99"]) {
      expect(all).toContain(`histogram_quantile(${q}, sum by (tool, le) (rate(mcp_tool_execution_seconds_bucket`)
    }
    for (const name of ["mcp_tool_active", "mcp_tool_errors_total", "circuit_breaker_state", "mcp_rate_limited_total"]) {
      expect(all).toContain(name)
    }
    const ids = dashboard.panels.map((p: { id: number }) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
  })
})

describe("config/prometheus-alerts.yml", () => {
  const rules = parse(read("config/prometheus-alerts.yml")).groups.flatMap((g: { rules: Array<unknown> }) => g.rules) as Array<{
    alert: string
    expr: string
    labels: { severity: string }
    annotations: { summary: string }
  }>

  it("parses and every rule uses only defined metrics", () => {
    for (const rule of rules) {
      expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/)
      expect(["critical", "warning", "info"]).toContain(rule.labels.severity)
      expect(rule.annotations.summary.length).toBeGreaterThan(0)
      const names = metricNames(rule.expr)
      expect(names.length, rule.expr).toBeGreaterThan(0)
      for (const name of names) expect(known, `${name} in ${rule.alert}`).toContain(name)
    }
  })

  it("has the required alerts", () => {
    const byName = new Map(rules.map((r) => [r.alert, r]))
    expect(byName.get("CircuitBreakerOpen")?.expr).toContain("circuit_breaker_state")
    expect(byName.get("ToolErrorRateHigh")?.expr).toContain("> 0.2")
    expect(byName.get("ToolLatencyP99High")?.expr).toContain("histogram_quantile(0.99")
    expect(byName.get("SecurityMcpServerDown")?.expr).toContain("up{")
    expect(byName.get("RateLimitingSurge")?.expr).toContain("mcp_rate_limited_total")
  })
})
