import { encodedOnce, jsonArrayOf, jsonWithParts, knownJson } from "../../jsonText.js"
import { textPieces } from "../../textPieces.js"
import type { ResultLimits, StreamParser } from "../ToolSpec.js"
import { nmapStream, type NmapStreamOptions } from "./parseXml.js"
import type { NmapHost, NmapRun } from "./result.js"
import { summarizeNmap } from "./summary.js"
import { HostDigest } from "./summaryFacts.js"

/**
 * A spec's `stream` for nmap-style XML: the streamed result with its bounded
 * summary. nmap's hosts are only ever appended, so each is digested for the
 * summary and encoded as JSON as soon as it is kept, while nmap still runs:
 * what is left for the end is arranging the summary and joining the texts
 * (the result's JSON, recorded for the answer and the store; see jsonText.ts).
 * masscan's entries are merged into hosts kept earlier, so its result is read
 * at the end.
 */
/** `JSON.stringify(h)`, each port encoded once however many hosts hold it (they share ports nmap wrote alike: elements.ts). */
const hostJson = (h: NmapHost): string =>
  h.ports.length < 2 ? JSON.stringify(h) : jsonWithParts(h, { ports: jsonArrayOf(h.ports.map(encodedOnce)) })

export const nmapStreamParser = (options: NmapStreamOptions) => (limits: ResultLimits): StreamParser<NmapRun> => {
  const stream = nmapStream(limits, options)
  const digest = options.mergeHosts ? undefined : new HostDigest()
  // The hosts' JSON texts, kept in order until the answer.
  const encoded = textPieces(",")
  const catchUp = () => {
    if (digest === undefined) return
    digest.catchUp(stream.hosts)
    for (let i = encoded.count(); i < stream.hosts.length; i++) encoded.add(hostJson(stream.hosts[i]!))
  }
  return {
    feed: (chunk) => {
      stream.feed(chunk)
      catchUp()
    },
    progress: stream.progress,
    finish: (end) => {
      const data = stream.finish(end)
      catchUp()
      if (digest !== undefined) knownJson(data, jsonWithParts(data, { hosts: `[${encoded.text()}]` }))
      const resource = end.resource === undefined ? {} : { resource: end.resource }
      return { data, summary: summarizeNmap(data, { tokens: limits.summaryTokens, ...resource }, digest) }
    }
  }
}
