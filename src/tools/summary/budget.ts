import { FENCE_NOTE, FENCE_OPEN } from "./fence.js"
import { estimateTokens } from "./tokens.js"

/**
 * A summary written against a token budget: lines are added in order of
 * importance while they fit; what does not fit is counted by kind, and the
 * closing line says what was left out and where the whole result is. Room for
 * that line is held back from the start, so the total never passes the budget.
 * The first line with fenced text is preceded by the note that explains fences.
 */

/** Held back for the closing "left out" line. */
const FOOTER_RESERVE = 90
const NOTE_TOKENS = estimateTokens(FENCE_NOTE) + 1

export interface SummaryBudget {
  /**
   * Adds `line` even when it does not fit: for the few bounded lines a
   * summary must never lack (totals, how the run ended, what was dropped).
   */
  readonly must: (line: string) => void
  /** Adds `line` when it fits (with the fence note before it if it is the first fenced line); returns whether it did. */
  readonly add: (line: string) => boolean
  /** Like `add`, and counts the line as one `kind` left out when it does not fit. */
  readonly offer: (line: string, kind: string, count?: number) => boolean
  /** Counts `count` items of `kind` as left out without trying them. */
  readonly omit: (kind: string, count: number) => void
  /** Tokens still free for content. */
  readonly remaining: () => number
  /** The lines, then what was left out and where to read it. */
  readonly text: (resource?: string) => string
}

export const summaryBudget = (tokens: number): SummaryBudget => {
  const lines: Array<string> = []
  const omitted = new Map<string, number>()
  let free = Math.max(0, tokens - FOOTER_RESERVE)
  let noted = false
  const omit = (kind: string, count: number) => {
    if (count > 0) omitted.set(kind, (omitted.get(kind) ?? 0) + count)
  }
  const push = (line: string, force: boolean) => {
    const needsNote = !noted && line.includes(FENCE_OPEN)
    // One token for the line break.
    const cost = estimateTokens(line) + 1 + (needsNote ? NOTE_TOKENS : 0)
    if (cost > free && !force) return false
    if (needsNote) {
      lines.push(FENCE_NOTE)
      noted = true
    }
    lines.push(line)
    free -= cost
    return true
  }
  const add = (line: string) => push(line, false)
  return {
    must: (line) => void push(line, true),
    add,
    offer: (line, kind, count = 1) => {
      const added = add(line)
      if (!added) omit(kind, count)
      return added
    },
    omit,
    remaining: () => Math.max(0, free),
    text: (resource) => {
      if (omitted.size === 0) return lines.join("\n")
      const what = [...omitted].map(([kind, n]) => `${n} ${kind}`).join(", ")
      const where = resource === undefined ? "the structured result has everything" : `everything is in ${resource}`
      const footer = `Left out to stay within ${tokens} tokens: ${what}; ${where}.`
      // The reserve covers a footer of a few kinds; a longer one names only the count of kinds.
      const fitted = estimateTokens(footer) + 1 <= FOOTER_RESERVE
        ? footer
        : `Left out to stay within ${tokens} tokens: details of ${omitted.size} kinds; ${where}.`
      return [...lines, fitted].join("\n")
    }
  }
}

/** The longest prefix of `text` whose estimate fits `tokens`, marked with "…" when cut. */
export const clip = (text: string, tokens: number): string => {
  if (estimateTokens(text) <= tokens) return text
  let low = 0
  let high = text.length
  while (low < high) {
    const mid = Math.ceil((low + high) / 2)
    if (estimateTokens(`${text.slice(0, mid)}…`) <= tokens) low = mid
    else high = mid - 1
  }
  return `${text.slice(0, low)}…`
}
