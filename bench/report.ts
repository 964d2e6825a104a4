/** Result rows, their target check and the printed table. */

export type Unit = "ms" | "req/s" | "MB" | "tokens" | "calls" | "B"

export interface Target {
  /**
   * What the bound applies to: our figure, ours / baseline, the median of
   * ours / baseline run by run (`pairedRatio`: where a tool's own time is
   * bimodal, the ratio of two medians is a coin toss of which mode each
   * landed in, while pairs share the machine's moment), or ours − baseline
   * (a fixed cost: for latencies, the median of the paired differences).
   */
  readonly on: "ours" | "ratio" | "pairedRatio" | "difference"
  readonly max?: number
  readonly min?: number
  /** Where the bound comes from, when it is not obvious (an issue's figure, a bare server's). */
  readonly source?: string
}

/** Fewest, middle and most of the runs behind a figure. */
export interface Spread {
  readonly n: number
  readonly min: number
  readonly median: number
  readonly max: number
}

export interface Row {
  readonly name: string
  readonly unit: Unit
  readonly ours: number
  readonly baseline: number
  readonly baselineLabel: string
  readonly target: Target | null
  /** The runs behind `ours` and `baseline`, measured in alternation. */
  readonly spread?: { readonly ours: Spread; readonly baseline: Spread }
  /** For a `difference` target: the value judged (the median of paired differences), when not ours − baseline. */
  readonly difference?: number
  /** For a `pairedRatio` target: the median of the paired ratios, the value judged. */
  readonly pairedRatio?: number
  readonly note?: string
}

export interface EvaluatedRow extends Row {
  readonly ratio: number
  readonly met: boolean | null
}

export const evaluate = (row: Row): EvaluatedRow => {
  const ratio = row.ours / row.baseline
  if (row.target === null) return { ...row, ratio, met: null }
  const value = row.target.on === "ours"
    ? row.ours
    : row.target.on === "ratio"
    ? ratio
    : row.target.on === "pairedRatio"
    ? row.pairedRatio ?? Number.NaN
    : row.difference ?? row.ours - row.baseline
  const met = (row.target.max === undefined || value <= row.target.max) && (row.target.min === undefined || value >= row.target.min)
  return { ...row, ratio, met }
}

const grouped = (x: number, digits: number) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

export const formatValue = (value: number, unit: Unit): string =>
  Number.isFinite(value)
    ? unit === "req/s"
      ? `${grouped(value, 0)} req/s`
      : unit === "MB"
      ? `${grouped(value, 1)} MB`
      : unit === "tokens"
      ? `${grouped(value, 0)} tokens`
      : unit === "calls"
      ? `${grouped(value, 0)} calls`
      : unit === "B"
      ? `${grouped(value, 0)} B`
      : `${grouped(value, value < 10 ? 2 : 1)} ms`
    : "n/a"

/** `12.3 ms (11.9–15.0)`: the figure, then the fewest and most of its runs when there were several. */
export const formatWithSpread = (value: number, unit: Unit, spread: Spread | undefined): string => {
  const main = formatValue(value, unit)
  if (spread === undefined || spread.n < 2) return main
  const bare = (x: number) => formatValue(x, unit).replace(/ (ms|req\/s|MB|tokens|calls|B)$/, "")
  return `${main} (${bare(spread.min)}–${bare(spread.max)})`
}

export const formatTarget = (target: Target | null, unit: Unit): string => {
  if (target === null) return "-"
  const show = (x: number) => (target.on === "ratio" || target.on === "pairedRatio" ? `${x}×` : formatValue(x, unit))
  const over = target.on === "difference" ? " over baseline" : target.on === "pairedRatio" ? " (median of paired ratios)" : ""
  const bound = target.max !== undefined && target.min !== undefined
    ? `${show(target.min)}..${show(target.max)}`
    : target.max !== undefined
    ? `≤ ${show(target.max)}`
    : `≥ ${show(target.min!)}`
  return `${bound}${over}${target.source === undefined ? "" : ` (${target.source})`}`
}

export const formatMet = (row: EvaluatedRow): string => (row.met === null ? "-" : row.met ? "yes" : "NO")

const pad = (text: string, width: number, right: boolean) => (right ? text.padStart(width) : text.padEnd(width))

/** A plain-text table; numbers right-aligned, one row per measurement. */
export const table = (rows: ReadonlyArray<EvaluatedRow>): string => {
  const header = ["benchmark", "ours", "baseline", "ratio", "target", "met"]
  const cells = rows.map((row) => [
    row.name,
    formatWithSpread(row.ours, row.unit, row.spread?.ours),
    `${formatWithSpread(row.baseline, row.unit, row.spread?.baseline)} (${row.baselineLabel})`,
    Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : "n/a",
    formatTarget(row.target, row.unit),
    formatMet(row)
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const right = [false, true, false, true, false, false]
  const line = (c: ReadonlyArray<string>) => c.map((text, i) => pad(text, widths[i]!, right[i]!)).join(" | ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...cells.map(line)].join("\n")
}

export const spreadOf = (s: { readonly n: number; readonly min: number; readonly median: number; readonly max: number }): Spread => ({
  n: s.n,
  min: s.min,
  median: s.median,
  max: s.max
})

/** A latency row from the summaries of runs made in alternation: their medians, with the spread of each. */
export const latencyRow = (
  fields: Pick<Row, "name" | "baselineLabel" | "target"> & Partial<Pick<Row, "note" | "difference" | "pairedRatio">>,
  ours: Spread,
  baseline: Spread
): Row => ({
  unit: "ms",
  ...fields,
  ours: ours.median,
  baseline: baseline.median,
  spread: { ours: spreadOf(ours), baseline: spreadOf(baseline) }
})
