import { Context, type Effect } from "effect"

/** Prometheus text exposition of every metric, for `/metrics` and the separate Prometheus port. */
export class MetricsExporter extends Context.Tag("security-mcp/MetricsExporter")<
  MetricsExporter,
  { readonly scrape: Effect.Effect<string> }
>() {}
