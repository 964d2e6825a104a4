import { attr, child, childrenNamed, numAttr, type XmlElement } from "../xml.js"
import type {
  NmapExtraPorts,
  NmapHost,
  NmapOsMatch,
  NmapPort,
  NmapRun,
  NmapScript,
  NmapScriptElem,
  NmapScriptTable,
  NmapService
} from "./result.js"

/** One element of an nmap report (nmap.dtd) to its typed form; missing attributes become `undefined` or an empty value. */

/**
 * The empty list every empty list of a result shares: a /24 report holds
 * thousands of ports without scripts or CPEs (results are never changed).
 */
const none: ReadonlyArray<never> = Object.freeze([])

const texts = (element: XmlElement | undefined, name: string): ReadonlyArray<string> =>
  element === undefined || element.children.length === 0 ? none : childrenNamed(element, name).map((c) => c.text.trim())

const elems = (element: XmlElement): ReadonlyArray<NmapScriptElem> =>
  childrenNamed(element, "elem").map((e) => ({ key: attr(e, "key"), value: e.text }))

const table = (element: XmlElement): NmapScriptTable => ({
  key: attr(element, "key"),
  elems: elems(element),
  tables: childrenNamed(element, "table").map(table)
})

export const script = (s: XmlElement): NmapScript => ({
  id: attr(s, "id") ?? "",
  output: attr(s, "output") ?? "",
  elems: elems(s),
  tables: childrenNamed(s, "table").map(table)
})

/**
 * Words a report repeats on every port ("tcp", "open", "syn-ack", "table"),
 * one string each: the parser reads a new copy per port, and a /24 result
 * keeps tens of thousands of them until it is answered. Only short words,
 * and only so many, so a hostile report cannot grow this.
 */
const words = new Map<string, string>()
const WORD_CHARS = 16
const MAX_WORDS = 256

const word = (text: string | undefined): string | undefined => {
  if (text === undefined || text.length > WORD_CHARS) return text
  const known = words.get(text)
  if (known !== undefined) return known
  if (words.size < MAX_WORDS) words.set(text, text)
  return text
}

/** A service's optional text attributes, in the order of `NmapService`. */
const SERVICE_TEXTS = [
  "product",
  "version",
  "extrainfo",
  "tunnel",
  "proto",
  "rpcnum",
  "lowver",
  "highver",
  "hostname",
  "ostype",
  "devicetype",
  "servicefp",
  "method"
] as const

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/**
 * Only the attributes nmap wrote become members (JSON leaves the others out
 * anyway): a port-number guess holds 4 members, not 17, and a /24 report
 * keeps thousands of them until it is answered.
 */
const service = (s: XmlElement): NmapService => {
  // Members in the order of the schema (`cpe` last), so the JSON reads as it always did.
  const out = { name: word(attr(s, "name")) ?? "" } as Mutable<NmapService>
  for (const key of SERVICE_TEXTS) {
    const value = s.attributes[key]
    if (value !== undefined) out[key] = key === "method" ? word(value)! : value
  }
  const conf = numAttr(s, "conf")
  if (conf !== undefined) out.conf = conf
  const banner = attr(s, "banner")
  if (banner !== undefined) out.banner = banner
  out.cpe = texts(s, "cpe")
  return out
}

/** The children of a port that it reads, found in one pass (a /24 report holds thousands of ports). */
const portChildren = (p: XmlElement) => {
  let state: XmlElement | undefined
  let svc: XmlElement | undefined
  let owner: XmlElement | undefined
  let scripts: Array<NmapScript> | undefined
  for (const c of p.children) {
    if (c.name === "state") state ??= c
    else if (c.name === "service") svc ??= c
    else if (c.name === "owner") owner ??= c
    else if (c.name === "script") (scripts ??= []).push(script(c))
  }
  return { state, svc, owner, scripts: scripts ?? none }
}

/**
 * A port that holds only its state and a service without CPEs is a function
 * of three attribute records. The reader shares one frozen record between
 * tags written alike (xmlReader.ts), and a /24 report writes every host's
 * ports alike: such a port is read once and shared (results are never
 * changed), here and in the JSON of every host that holds it (parser.ts).
 */
const plainPorts = new WeakMap<object, WeakMap<object, Map<object | undefined, NmapPort>>>()

/** The state and service of a port that holds nothing else, when their records are shared; undefined otherwise. */
const plainParts = (p: XmlElement) => {
  if (!Object.isFrozen(p.attributes) || p.children.length === 0 || p.children.length > 2) return undefined
  const [state, svc] = p.children
  if (state!.name !== "state" || state!.children.length > 0 || !Object.isFrozen(state!.attributes)) return undefined
  if (svc !== undefined && (svc.name !== "service" || svc.children.length > 0 || !Object.isFrozen(svc.attributes))) return undefined
  return { state: state!.attributes, service: svc?.attributes }
}

/**
 * Ports of the elements a repeated markup line shares between hosts, by
 * element: xml.ts freezes those, so each is read once however many hosts hold it.
 */
const sharedPorts = new WeakMap<XmlElement, NmapPort>()

export const port = (p: XmlElement): NmapPort => {
  if (!Object.isFrozen(p)) return plainPort(p)
  let known = sharedPorts.get(p)
  if (known === undefined) sharedPorts.set(p, known = plainPort(p))
  return known
}

const plainPort = (p: XmlElement): NmapPort => {
  const parts = plainParts(p)
  if (parts === undefined) return readPort(p)
  let byState = plainPorts.get(p.attributes)
  if (byState === undefined) plainPorts.set(p.attributes, byState = new WeakMap())
  let byService = byState.get(parts.state)
  if (byService === undefined) byState.set(parts.state, byService = new Map())
  let known = byService.get(parts.service)
  if (known === undefined) byService.set(parts.service, known = readPort(p))
  return known
}

const readPort = (p: XmlElement): NmapPort => {
  const { owner, scripts, state, svc } = portChildren(p)
  return {
    protocol: word(attr(p, "protocol")) ?? "",
    portid: numAttr(p, "portid") ?? 0,
    state: word(attr(state, "state")) ?? "unknown",
    reason: word(attr(state, "reason")) ?? "",
    reason_ttl: numAttr(state, "reason_ttl"),
    reason_ip: attr(state, "reason_ip"),
    owner: attr(owner, "name"),
    service: svc === undefined ? undefined : service(svc),
    scripts
  }
}

const extraports = (e: XmlElement): NmapExtraPorts => ({
  state: attr(e, "state") ?? "",
  count: numAttr(e, "count") ?? 0,
  reasons: childrenNamed(e, "extrareasons").map((r) => ({
    reason: attr(r, "reason") ?? "",
    count: numAttr(r, "count") ?? 0,
    protocol: attr(r, "proto"),
    ports: attr(r, "ports")
  }))
})

const osmatch = (m: XmlElement): NmapOsMatch => ({
  name: attr(m, "name") ?? "",
  accuracy: numAttr(m, "accuracy") ?? 0,
  line: numAttr(m, "line"),
  osclass: childrenNamed(m, "osclass").map((c) => ({
    type: attr(c, "type"),
    vendor: attr(c, "vendor") ?? "",
    osfamily: attr(c, "osfamily") ?? "",
    osgen: attr(c, "osgen"),
    accuracy: numAttr(c, "accuracy") ?? 0,
    cpe: texts(c, "cpe")
  }))
})

const sequence = (s: XmlElement | undefined) =>
  s === undefined ? undefined : { class: attr(s, "class") ?? "", values: attr(s, "values") ?? "" }

const trace = (t: XmlElement | undefined): NmapHost["trace"] =>
  t === undefined ? undefined : {
    proto: attr(t, "proto"),
    port: numAttr(t, "port"),
    hops: childrenNamed(t, "hop").map((h) => ({
      ttl: numAttr(h, "ttl") ?? 0,
      rtt: attr(h, "rtt"),
      ipaddr: attr(h, "ipaddr"),
      host: attr(h, "host")
    }))
  }

const status = (h: XmlElement, ports: ReadonlyArray<NmapPort>): NmapHost["status"] => {
  const s = child(h, "status")
  // masscan writes no status: it lists only hosts that answered on a port.
  if (s === undefined) return { state: ports.length > 0 ? "up" : "unknown", reason: "" }
  return { state: attr(s, "state") ?? "unknown", reason: attr(s, "reason") ?? "", reason_ttl: numAttr(s, "reason_ttl") }
}

const timedOut = (value: string | undefined): boolean | undefined => (value === undefined ? undefined : value === "true")

export const host = (h: XmlElement): NmapHost => {
  const ports = child(h, "ports")
  const portList = childrenNamed(ports, "port").map(port)
  const os = child(h, "os")
  const uptime = child(h, "uptime")
  const tcpsequence = child(h, "tcpsequence")
  const times = child(h, "times")
  return {
    status: status(h, portList),
    addresses: childrenNamed(h, "address").map((a) => ({
      addr: attr(a, "addr") ?? "",
      addrtype: attr(a, "addrtype") ?? "",
      vendor: attr(a, "vendor")
    })),
    hostnames: childrenNamed(child(h, "hostnames"), "hostname").map((n) => ({ name: attr(n, "name") ?? "", type: attr(n, "type") ?? "" })),
    ports: portList,
    extraports: childrenNamed(ports, "extraports").map(extraports),
    hostscripts: childrenNamed(child(h, "hostscript"), "script").map(script),
    os: childrenNamed(os, "osmatch").map(osmatch),
    portused: childrenNamed(os, "portused").map((p) => ({
      state: attr(p, "state") ?? "",
      proto: attr(p, "proto") ?? "",
      portid: numAttr(p, "portid") ?? 0
    })),
    osfingerprint: childrenNamed(os, "osfingerprint").map((f) => attr(f, "fingerprint") ?? ""),
    uptime: uptime === undefined ? undefined : { seconds: numAttr(uptime, "seconds") ?? 0, lastboot: attr(uptime, "lastboot") },
    distance: numAttr(child(h, "distance"), "value"),
    tcpsequence: tcpsequence === undefined ? undefined : {
      index: numAttr(tcpsequence, "index") ?? 0,
      difficulty: attr(tcpsequence, "difficulty") ?? "",
      values: attr(tcpsequence, "values") ?? ""
    },
    ipidsequence: sequence(child(h, "ipidsequence")),
    tcptssequence: sequence(child(h, "tcptssequence")),
    trace: trace(child(h, "trace")),
    times: times === undefined
      ? undefined
      : { srtt: numAttr(times, "srtt") ?? 0, rttvar: numAttr(times, "rttvar") ?? 0, to: numAttr(times, "to") ?? 0 },
    smurf: numAttr(child(h, "smurf"), "responses"),
    starttime: numAttr(h, "starttime"),
    endtime: numAttr(h, "endtime"),
    timedout: timedOut(attr(h, "timedout")),
    comment: attr(h, "comment")
  }
}

export const scanner = (attributes: Readonly<Record<string, string>>): NmapRun["scanner"] => ({
  name: attributes["scanner"] ?? "nmap",
  version: attributes["version"],
  args: attributes["args"],
  start: numAttr({ name: "nmaprun", attributes, children: [], text: "" }, "start"),
  startstr: attributes["startstr"],
  xmloutputversion: attributes["xmloutputversion"],
  profile_name: attributes["profile_name"]
})

export const scaninfo = (s: XmlElement): NmapRun["scaninfo"][number] => ({
  type: attr(s, "type") ?? "",
  protocol: attr(s, "protocol") ?? "",
  scanflags: attr(s, "scanflags"),
  numservices: numAttr(s, "numservices"),
  services: attr(s, "services")
})

export const runstats = (r: XmlElement): NonNullable<NmapRun["runstats"]> => {
  const finished = child(r, "finished")
  const hosts = child(r, "hosts")
  return {
    finished: finished === undefined ? undefined : {
      time: numAttr(finished, "time"),
      timestr: attr(finished, "timestr"),
      elapsed: numAttr(finished, "elapsed"),
      summary: attr(finished, "summary"),
      exit: attr(finished, "exit"),
      errormsg: attr(finished, "errormsg")
    },
    hosts: hosts === undefined
      ? undefined
      : { up: numAttr(hosts, "up") ?? 0, down: numAttr(hosts, "down") ?? 0, total: numAttr(hosts, "total") ?? 0 }
  }
}
