import type { FlagValue } from "./flags.js"

/**
 * A flag's value in words, for people and models: the tool reference in the
 * README and the flag tables agents read over MCP. `quote` marks literal
 * values (Markdown code in the README, plain text elsewhere).
 */

const durationText = (ms: number): string =>
  ms === 0
    ? "0"
    : ms % 3_600_000 === 0
    ? `${ms / 3_600_000}h`
    : ms % 60_000 === 0
    ? `${ms / 60_000}m`
    : ms % 1000 === 0
    ? `${ms / 1000}s`
    : `${ms}ms`

/** What a caller may put after the flag; "—" for a flag without a value. */
export const flagValueText = (value: FlagValue, quote: (literal: string) => string = (s) => s): string => {
  switch (value._tag) {
    case "None":
      return "—"
    case "Int":
      return `integer ${value.min} – ${value.max}`
    case "Number":
      return `number ${value.min} – ${value.max}`
    case "Enum":
      return `one of ${value.values.map(quote).join(", ")}`
    case "Ports":
      return `port list, at most ${value.maxRanges} entries`
    case "Duration":
      return `time ${durationText(value.minMs)} – ${durationText(value.maxMs)}`
    case "Scripts":
      return "NSE scripts/categories from the allow-list"
    case "Pattern":
      return value.description
  }
}
