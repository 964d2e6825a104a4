import { jsonArrayOf, jsonWithParts, knownJson } from "../../jsonText.js"
import type { ResultLimits, StreamParser } from "../ToolSpec.js"
import { nmapStream, type NmapStreamOptions } from "./parseXml.js"
import type { NmapHost, NmapPort, NmapRun } from "./result.js"
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
/** The JSON of ports, which hosts share when nmap wrote them alike (elements.ts). */
const portTexts = new WeakMap<NmapPort, string>()

const portJson = (p: NmapPort): string => {
  let text = portTexts.get(p)
  if (text === undefined) portTexts.set(p, text = JSON.stringify(p))
  return text
}

/** `JSON.stringify(h)`, each port encoded once however many hosts hold it. */
const hostJson = (h: NmapHost): string =>
  h.ports.length < 2 ? JSON.stringify(h) : jsonWithParts(h, { ports: jsonArrayOf(h.ports.map(portJson)) })

/** Host texts are joined in pieces this long: one string that size is not copied by the young generation's collector. */
const PIECE_CHARS = 256 * 1024

/**
 * The JSON texts of the hosts kept, in order, joined as they come into
 * pieces of `PIECE_CHARS`: the hosts' many small texts would otherwise live
 * until the answer, each copied by every young-generation collection it
 * outlives (most of a /24 scan's collector time).
 */
const hostTexts = () => {
  const pieces: Array<string> = []
  let texts: Array<string> = []
  let chars = 0
  let count = 0
  return {
    count: () => count,
    add: (text: string) => {
      texts.push(text)
      count++
      chars += text.length
      if (chars < PIECE_CHARS) return
      pieces.push(texts.join(","))
      texts = []
      chars = 0
    },
    /** The JSON array of every host text added. */
    array: (): string => `[${(texts.length === 0 ? pieces : [...pieces, texts.join(",")]).join(",")}]`
  }
}

export const nmapStreamParser = (options: NmapStreamOptions) => (limits: ResultLimits): StreamParser<NmapRun> => {
  const stream = nmapStream(limits, options)
  const digest = options.mergeHosts ? undefined : new HostDigest()
  const encoded = hostTexts()
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
      if (digest !== undefined) knownJson(data, jsonWithParts(data, { hosts: encoded.array() }))
      const resource = end.resource === undefined ? {} : { resource: end.resource }
      return { data, summary: summarizeNmap(data, { tokens: limits.summaryTokens, ...resource }, digest) }
    }
  }
}
