import type { ToolProgress } from "../ToolSpec.js"

/**
 * With `--stats-every`, nmap writes `<taskprogress task="…" percent="12.34"
 * remaining="36" …/>` into its XML stream while a phase runs, and
 * `<taskbegin task="…"/>` when the next one starts; masscan prints
 * `… 50.00% done, 0:00:07 remaining` on stderr. The last report in a chunk
 * is the current one. Percentages restart with each phase.
 */
const taskElement = /<task(progress|begin)\b([^>]*?)\/?>/g
const attribute = /(\w+)="([^"]*)"/g
const percentDone = /(\d+(?:\.\d+)?)% done(?:,\s+(\d+):(\d\d):(\d\d) remaining)?/g

const clampPercent = (value: number) => Math.min(100, Math.max(0, value))

const attributes = (text: string): Readonly<Record<string, string>> =>
  Object.fromEntries([...text.matchAll(attribute)].map((m) => [m[1]!, m[2]!]))

export const nmapProgress = (chunk: string): ToolProgress | undefined => {
  let last: ToolProgress | undefined
  for (const match of chunk.matchAll(taskElement)) {
    const attrs = attributes(match[2]!)
    const percent = match[1] === "begin" ? 0 : Number(attrs["percent"])
    if (!Number.isFinite(percent)) continue
    const remaining = Number(attrs["remaining"])
    last = {
      percent: clampPercent(percent),
      ...(attrs["task"] === undefined ? {} : { task: attrs["task"] }),
      ...(attrs["remaining"] !== undefined && Number.isFinite(remaining) ? { remainingSeconds: remaining } : {})
    }
  }
  return last
}

export const masscanProgress = (chunk: string): ToolProgress | undefined => {
  let last: ToolProgress | undefined
  for (const match of chunk.matchAll(percentDone)) {
    const percent = Number(match[1])
    if (!Number.isFinite(percent)) continue
    const remaining = match[2] === undefined ? undefined : Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4])
    last = { percent: clampPercent(percent), ...(remaining === undefined ? {} : { remainingSeconds: remaining }) }
  }
  return last
}
