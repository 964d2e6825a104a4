import { defaultResultLimits } from "../stream.js"
import type { ResultLimits, StreamEnd, StreamProgress } from "../ToolSpec.js"
import { attr, type CollectedElement, numAttr, type XmlElement, xmlStream } from "../xml.js"
import { host, runstats, scaninfo, scanner, script } from "./elements.js"
import { hostAddress as addressOf, type NmapDropped, type NmapHost, type NmapRun } from "./result.js"

/**
 * nmap's (and masscan's) `-oX` report read as it streams: each `<host>` is
 * converted when it closes and kept while `results.max_hosts` and
 * `results.max_bytes` allow; hosts past a bound are counted (seen, up, open
 * ports, first and last address) so the result says exactly what it lacks.
 */

export interface NmapStreamOptions {
  /** Warnings from stderr belong in the result (nmap); masscan's stderr is a progress ticker. */
  readonly stderrWarnings: boolean
  /** masscan writes one `<host>` per open port: join them into one host per address. */
  readonly mergeHosts: boolean
}

export interface NmapStream {
  readonly feed: (chunk: string) => void
  readonly progress: () => StreamProgress
  /** The hosts kept so far, in order; the list `finish` returns. */
  readonly hosts: ReadonlyArray<NmapHost>
  readonly finish: (end: StreamEnd) => NmapRun
}

/** Elements under `<nmaprun>` read whole; the rest are progress marks or unknown. */
const collected: ReadonlySet<string> = new Set([
  "scaninfo",
  "verbose",
  "debugging",
  "target",
  "prescript",
  "postscript",
  "host",
  "output",
  "runstats"
])

const STDERR_WARNINGS = 20

/** nmap prints warnings and errors on stderr; they belong to the result, not to a log nobody reads. */
const stderrWarnings = (stderr: string): ReadonlyArray<string> =>
  stderr.split("\n").map((l) => l.trim()).filter((l) => l.length > 0).slice(0, STDERR_WARNINGS)

const openPorts = (h: NmapHost): number => h.ports.reduce((n, p) => n + (p.state === "open" ? 1 : 0), 0)

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type Lists<T> = { -readonly [K in keyof T]: T[K] extends ReadonlyArray<infer E> ? Array<E> : T[K] }

/** Adds masscan's later entry for a host (another port, or a banner for a port) to the kept one. */
const merge = (into: NmapHost, from: NmapHost): NmapHost => {
  const ports = [...into.ports]
  for (const p of from.ports) {
    const i = ports.findIndex((q) => q.protocol === p.protocol && q.portid === p.portid)
    if (i === -1) ports.push(p)
    else ports[i] = { ...ports[i]!, service: p.service ?? ports[i]!.service, scripts: [...ports[i]!.scripts, ...p.scripts] }
  }
  return { ...into, ports, endtime: from.endtime ?? into.endtime }
}

const makeRun = (): Lists<NmapRun> => ({
  scanner: { name: "nmap" },
  scaninfo: [],
  targets: [],
  prescripts: [],
  hosts: [],
  postscripts: [],
  output: [],
  complete: false,
  partial: false,
  warnings: []
})

/** Keeps hosts while the bounds allow and counts the rest; `warnings` collects what it has to say. */
const hostKeeper = (limits: ResultLimits, mergeHosts: boolean, warnings: Array<string>) => {
  const hosts: Array<NmapHost> = []
  const kept = new Map<string, number>()
  const droppedAddresses = new Set<string>()
  let dropped: Mutable<NmapDropped> | undefined
  let keptBytes = 0
  const counts = { seen: 0, up: 0, open: 0 }

  /** Counts what a bound kept out; `wholeHost` is false for a later masscan entry of a host already kept. */
  const drop = (h: NmapHost, limit: NmapDropped["limit"], wholeHost = true) => {
    dropped ??= {
      limit,
      max_hosts: limits.maxHosts,
      max_bytes: limits.maxBytes,
      hosts_seen: 0,
      hosts_kept: 0,
      hosts_dropped: 0,
      hosts_up_dropped: 0,
      open_ports_dropped: 0
    }
    dropped.open_ports_dropped += openPorts(h)
    const address = addressOf(h)
    if (!wholeHost || (mergeHosts && droppedAddresses.has(address))) return
    if (mergeHosts) droppedAddresses.add(address)
    dropped.first_address ??= address
    dropped.last_address = address
    dropped.hosts_dropped++
    dropped.hosts_up_dropped += h.status.state === "up" ? 1 : 0
  }

  const onHost = ({ element, chars, closed, oversized }: CollectedElement) => {
    const h = host(element)
    const address = addressOf(h)
    if (!closed) warnings.push(`the report ended inside the host ${address || "?"}; it is kept with what was read`)
    const index = mergeHosts ? kept.get(address) : undefined
    if (index === undefined && !droppedAddresses.has(address)) {
      counts.seen++
      counts.up += h.status.state === "up" ? 1 : 0
    }
    counts.open += openPorts(h)
    if (oversized) {
      warnings.push(`the host ${address || "?"} holds more than results.max_bytes (${limits.maxBytes}) of facts`)
      return drop(h, "max_bytes", index === undefined)
    }
    if (index !== undefined) {
      if (keptBytes + chars > limits.maxBytes) return drop(h, "max_bytes", false)
      hosts[index] = merge(hosts[index]!, h)
      keptBytes += chars
      return
    }
    if (droppedAddresses.has(address)) return drop(h, dropped!.limit)
    if (hosts.length >= limits.maxHosts) return drop(h, "max_hosts")
    if (keptBytes + chars > limits.maxBytes) return drop(h, "max_bytes")
    keptBytes += chars
    if (mergeHosts) kept.set(address, hosts.length)
    hosts.push(h)
  }

  return {
    onHost,
    counts,
    hosts,
    dropped: (): NmapDropped | undefined =>
      dropped === undefined ? undefined : { ...dropped, hosts_seen: counts.seen, hosts_kept: hosts.length }
  }
}

/** A child of `<nmaprun>` other than a host, into the run. */
const readRunElement = (run: Lists<NmapRun>, e: XmlElement): void => {
  switch (e.name) {
    case "scaninfo":
      return void run.scaninfo.push(scaninfo(e))
    case "verbose":
      return void (run.verbose = numAttr(e, "level"))
    case "debugging":
      return void (run.debugging = numAttr(e, "level"))
    case "target":
      return void run.targets.push({ specification: attr(e, "specification") ?? "", status: attr(e, "status"), reason: attr(e, "reason") })
    case "prescript":
      return void run.prescripts.push(...e.children.filter((s) => s.name === "script").map(script))
    case "postscript":
      return void run.postscripts.push(...e.children.filter((s) => s.name === "script").map(script))
    case "output":
      return void run.output.push({ type: attr(e, "type") ?? "", text: e.text })
    case "runstats":
      return void (run.runstats = runstats(e))
  }
}

export const nmapStream = (limits: ResultLimits, options: NmapStreamOptions): NmapStream => {
  const run = makeRun()
  const warnings: Array<string> = []
  const keeper = hostKeeper(limits, options.mergeHosts, warnings)
  let percent: number | undefined
  let sawText = false

  const xml = xmlStream({
    collect: (name, depth) => depth === 1 && collected.has(name),
    onElement: (c) => (c.element.name === "host" ? keeper.onHost(c) : readRunElement(run, c.element)),
    onOpen: (name, attributes, depth) => {
      if (depth === 0 && name === "nmaprun") run.scanner = scanner(attributes)
      else if (name === "taskprogress") {
        const value = Number(attributes["percent"])
        if (Number.isFinite(value)) percent = Math.min(100, Math.max(0, value))
      }
    },
    maxElementChars: limits.maxBytes
  })

  return {
    feed: (chunk) => {
      if (!sawText && chunk.trim().length > 0) sawText = true
      xml.write(chunk)
    },
    progress: () => ({
      hostsSeen: keeper.counts.seen,
      hostsUp: keeper.counts.up,
      openPorts: keeper.counts.open,
      ...(percent === undefined ? {} : { percent })
    }),
    hosts: keeper.hosts,
    finish: (end) => {
      const read = xml.end()
      if (!read.sawRoot && sawText) warnings.push("no <nmaprun> element in the output")
      const cut = !read.rootClosed
      const partial = end.partial || cut
      const reason = end.reason ??
        (read.stopped
          ? "the output held a value larger than results.max_bytes"
          : !read.sawRoot
          ? "no report in the output"
          : cut
          ? "the report ended before </nmaprun>"
          : undefined)
      const dropped = keeper.dropped()
      return {
        ...run,
        hosts: keeper.hosts,
        complete: !partial && dropped === undefined,
        partial,
        ...(partial && reason !== undefined ? { partial_reason: reason } : {}),
        ...(dropped === undefined ? {} : { dropped }),
        warnings: [...read.warnings, ...warnings, ...(options.stderrWarnings ? stderrWarnings(end.stderr ?? "") : [])]
      }
    }
  }
}

/** Parses a whole nmap (or masscan) `-oX` report; a truncated or garbled one yields what could be read. */
export const parseNmapXml = (
  stdout: string,
  stderr = "",
  limits: ResultLimits = defaultResultLimits,
  options: NmapStreamOptions = { stderrWarnings: true, mergeHosts: false }
): NmapRun => {
  const stream = nmapStream(limits, options)
  stream.feed(stdout)
  return stream.finish({ partial: false, stderr })
}
