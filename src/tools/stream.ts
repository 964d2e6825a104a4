import { type AppConfig, defaults } from "../config/schema.js"
import { estimateTokens } from "./summary/tokens.js"
import type { ParsedOutput, ResultLimits, StreamEnd, StreamParser, SummaryOptions } from "./ToolSpec.js"

/** How stream parsers are built, fed and turned into a spec's `parse`, `stream` and `summarize`. */

export const resultLimits = (results: AppConfig["results"]): ResultLimits => ({
  maxHosts: results.max_hosts,
  maxBytes: results.max_bytes,
  summaryTokens: results.summary_tokens
})

export const defaultResultLimits: ResultLimits = resultLimits(defaults.results)

/** Feeds `chunks` in order, then finishes: the pure way to run a parser over output already at hand. */
export const runStream = <A>(parser: StreamParser<A>, chunks: Iterable<string>, end: StreamEnd): ParsedOutput<A> => {
  for (const chunk of chunks) parser.feed(chunk)
  return parser.finish(end)
}

/** A spec's `parse`: its stream parser with the default limits, fed the whole output at once. */
export const parseWithStream = <A>(stream: (limits: ResultLimits) => StreamParser<A>) =>
(
  stdout: string,
  stderr: string
): ParsedOutput<A> => runStream(stream(defaultResultLimits), [stdout], { partial: false, stderr })

/** What a summary says about how the run ended, as lines to append. */
export const endNotes = (end: StreamEnd, overflow: boolean, limits: ResultLimits): ReadonlyArray<string> => [
  ...(end.partial ? [`PARTIAL: ${end.reason ?? "the run ended before the tool finished"}; the result holds what was read`] : []),
  ...(overflow ? [`output past results.max_bytes (${limits.maxBytes} bytes) was not parsed`] : [])
]

/**
 * The stream parser of a tool whose output is small and line-oriented (ping,
 * dig, traceroute, curl): it keeps up to `results.max_bytes` of stdout and
 * parses it at the end.
 */
export const bufferedStream = <A>(
  parse: (stdout: string, stderr: string) => A,
  summarize: (data: A, options: SummaryOptions) => string
) =>
(limits: ResultLimits): StreamParser<A> => {
  const chunks: Array<string> = []
  let kept = 0
  let overflow = false
  return {
    feed: (chunk) => {
      const room = limits.maxBytes - kept
      if (chunk.length > room) overflow = true
      const part = chunk.length > room ? chunk.slice(0, Math.max(0, room)) : chunk
      chunks.push(part)
      kept += part.length
    },
    progress: () => ({ hostsSeen: 0, hostsUp: 0, openPorts: 0 }),
    finish: (end) => {
      const data = parse(chunks.join(""), end.stderr ?? "")
      const notes = endNotes(end, overflow, limits)
      // The notes come after the summary and are paid for out of its budget.
      const tokens = limits.summaryTokens - notes.reduce((n, line) => n + estimateTokens(line) + 1, 0)
      const options = { tokens, ...(end.resource === undefined ? {} : { resource: end.resource }) }
      return { data, summary: [summarize(data, options), ...notes].join("\n") }
    }
  }
}
