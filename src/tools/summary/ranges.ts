/** Compact lists for summaries: runs of consecutive addresses or ports written as `first-last`. */

const ipv4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

const ipv4Value = (address: string): number | undefined => {
  const m = ipv4.exec(address)
  if (m === null) return undefined
  const parts = m.slice(1, 5).map(Number)
  return parts.some((p) => p > 255) ? undefined : ((parts[0]! * 256 + parts[1]!) * 256 + parts[2]!) * 256 + parts[3]!
}

export interface Run<A> {
  readonly first: A
  readonly last: A
  readonly count: number
}

/** The distinct values in ascending order; an array already so (a host's ports, as nmap lists them) as it is. */
const ascending = (values: Iterable<number>): ReadonlyArray<number> => {
  if (Array.isArray(values)) {
    let i = 1
    while (i < values.length && values[i] > values[i - 1]) i++
    if (i >= values.length) return values
  }
  return [...new Set(values)].sort((a, b) => a - b)
}

/** Runs of consecutive integers in `values` (sorted, duplicates ignored). */
export const integerRuns = (values: Iterable<number>): ReadonlyArray<Run<number>> => {
  const sorted = ascending(values)
  const runs: Array<Run<number>> = []
  let i = 0
  while (i < sorted.length) {
    const first = sorted[i++]!
    let last = first
    let count = 1
    while (i < sorted.length && sorted[i] === last + 1) {
      last = sorted[i++]!
      count++
    }
    runs.push({ first, last, count })
  }
  return runs
}

/**
 * Addresses as runs: IPv4 addresses in numeric order with consecutive ones
 * joined, then any other address (IPv6, names) on its own, in text order.
 */
export const addressRuns = (addresses: Iterable<string>): ReadonlyArray<Run<string>> => {
  const byValue = new Map<number, string>()
  const others = new Set<string>()
  for (const a of addresses) {
    const v = ipv4Value(a)
    if (v === undefined) others.add(a)
    else byValue.set(v, a)
  }
  const runs: Array<Run<string>> = integerRuns(byValue.keys()).map((r) => ({
    first: byValue.get(r.first)!,
    last: byValue.get(r.last)!,
    count: r.count
  }))
  for (const a of [...others].sort()) runs.push({ first: a, last: a, count: 1 })
  return runs
}

export const runText = <A>(run: Run<A>): string => (run.count === 1 ? String(run.first) : `${run.first}-${run.last}`)

/**
 * `runs` joined with commas, as many as fit in `maxChars`; the rest are
 * counted ("+N more"), so the text never claims the list is whole when it is not.
 */
export const runsText = <A>(runs: ReadonlyArray<Run<A>>, maxChars: number, unit: string): string => {
  let text = ""
  let shown = 0
  for (const run of runs) {
    const piece = runText(run)
    if (shown > 0 && text.length + piece.length + 1 > maxChars) break
    text += shown === 0 ? piece : `,${piece}`
    shown++
  }
  const rest = runs.slice(shown).reduce((n, r) => n + r.count, 0)
  return rest === 0 ? text : `${text} +${rest} more ${unit}`
}
