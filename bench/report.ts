/** Result rows, their target check and the printed table. */

export type Unit = "ms" | "req/s" | "MB" | "tokens"

export interface Target {
  /** Whether the bound applies to our absolute figure or to ours/baseline. */
  readonly on: "ours" | "ratio"
  readonly max?: number
  readonly min?: number
}

export interface Row {
  readonly name: string
  readonly unit: Unit
  readonly ours: number
  readonly baseline: number
  readonly baselineLabel: string
  readonly target: Target | null
  readonly note?: string
}

export interface EvaluatedRow extends Row {
  readonly ratio: number
  readonly met: boolean | null
}

export const evaluate = (row: Row): EvaluatedRow => {
  const ratio = row.ours / row.baseline
  if (row.target === null) return { ...row, ratio, met: null }
  const value = row.target.on === "ours" ? row.ours : ratio
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
      : `${grouped(value, value < 10 ? 2 : 1)} ms`
    : "n/a"

export const formatTarget = (target: Target | null, unit: Unit): string => {
  if (target === null) return "-"
  const show = (x: number) => (target.on === "ratio" ? `${x}×` : formatValue(x, unit))
  if (target.max !== undefined && target.min !== undefined) return `${show(target.min)}..${show(target.max)}`
  if (target.max !== undefined) return `≤ ${show(target.max)}`
  return `≥ ${show(target.min!)}`
}

const pad = (text: string, width: number, right: boolean) => (right ? text.padStart(width) : text.padEnd(width))

/** A plain-text table; numbers right-aligned, one row per measurement. */
export const table = (rows: ReadonlyArray<EvaluatedRow>): string => {
  const header = ["benchmark", "ours", "baseline", "ratio", "target", "met"]
  const cells = rows.map((row) => [
    row.name,
    formatValue(row.ours, row.unit),
    `${formatValue(row.baseline, row.unit)} (${row.baselineLabel})`,
    Number.isFinite(row.ratio) ? `${row.ratio.toFixed(2)}×` : "n/a",
    formatTarget(row.target, row.unit),
    row.met === null ? "-" : row.met ? "yes" : "NO"
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const right = [false, true, false, true, false, false]
  const line = (c: ReadonlyArray<string>) => c.map((text, i) => pad(text, widths[i]!, right[i]!)).join(" | ")
  return [line(header), widths.map((w) => "-".repeat(w)).join("-|-"), ...cells.map(line)].join("\n")
}
