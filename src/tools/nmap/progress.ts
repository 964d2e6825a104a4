/**
 * With `--stats-every`, nmap writes `<taskprogress task="…" percent="12.34" …/>`
 * into its XML stream; masscan prints `… 50.00% done` on stderr. The last value
 * in a chunk is the current one. Percentages restart with each scan phase.
 */
const taskProgress = /<taskprogress\b[^>]*?\bpercent="(\d+(?:\.\d+)?)"/g
const percentDone = /(\d+(?:\.\d+)?)% done/g

const lastPercent = (pattern: RegExp, chunk: string): number | undefined => {
  let last: number | undefined
  for (const match of chunk.matchAll(pattern)) {
    const value = Number(match[1])
    if (Number.isFinite(value)) last = Math.min(100, Math.max(0, value))
  }
  return last
}

export const nmapProgress = (chunk: string): number | undefined => lastPercent(taskProgress, chunk)

export const masscanProgress = (chunk: string): number | undefined => lastPercent(percentDone, chunk)
