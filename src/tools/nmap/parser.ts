import type { ResultLimits, StreamParser } from "../ToolSpec.js"
import { nmapStream, type NmapStreamOptions } from "./parseXml.js"
import type { NmapRun } from "./result.js"
import { summarizeNmap } from "./summary.js"

/** A spec's `stream` for nmap-style XML: the streamed result with its bounded summary. */
export const nmapStreamParser = (options: NmapStreamOptions) => (limits: ResultLimits): StreamParser<NmapRun> => {
  const stream = nmapStream(limits, options)
  return {
    feed: stream.feed,
    progress: stream.progress,
    finish: (end) => {
      const data = stream.finish(end)
      const resource = end.resource === undefined ? {} : { resource: end.resource }
      return { data, summary: summarizeNmap(data, { tokens: limits.summaryTokens, ...resource }) }
    }
  }
}
