import { fence } from "../summary/fence.js"
import { addressRuns, integerRuns, runsText } from "../summary/ranges.js"
import { hostAddress, type NmapHost, type NmapPort, type NmapRun, type NmapScript, type NmapService } from "./result.js"

/**
 * The facts of an nmap result that a summary shows, each once with the hosts
 * it holds for: hosts grouped by their port table, then details (services,
 * script results, OS guesses …) keyed by their text. Text a host chose is
 * fenced here, where it is read, so no caller can forget to.
 */

/** Longest fenced script output or service detail, in characters. */
export const SCRIPT_CHARS = 160
const SERVICE_CHARS = 120
const ADDRESS_CHARS = 100
const PORT_CHARS = 160

export const addressOf = (h: NmapHost): string => hostAddress(h) || "?"

/** "127.0.0.1", or "256 hosts 127.0.0.0-127.0.0.255". */
export const hostsText = (addresses: ReadonlyArray<string>): string => {
  const runs = runsText(addressRuns(addresses), ADDRESS_CHARS, "hosts")
  return addresses.length === 1 ? runs : `${addresses.length} hosts ${runs}`
}

const STATE_ORDER = ["open", "open|filtered", "filtered", "unfiltered", "closed|filtered", "closed"]
const stateRank = (state: string) => {
  const i = STATE_ORDER.indexOf(state)
  return i === -1 ? STATE_ORDER.length : i
}

interface PortGroup {
  readonly protocol: string
  readonly state: string
  readonly ports: Array<number>
}

/** A host's port table in a few words, nmap's way round: "20000-20049/tcp open; 22/tcp closed; 998 closed". */
const portTable = (h: NmapHost): string => {
  const byKey = new Map<string, PortGroup>()
  let group: PortGroup | undefined
  for (const p of h.ports) {
    // nmap lists a host's ports in order: most are in the group of the port before.
    if (group === undefined || group.protocol !== p.protocol || group.state !== p.state) {
      const key = `${p.protocol}\u0000${p.state}`
      group = byKey.get(key)
      if (group === undefined) byKey.set(key, group = { protocol: p.protocol, state: p.state, ports: [] })
    }
    group.ports.push(p.portid)
  }
  const parts = [...byKey.values()]
    .sort((a, b) => stateRank(a.state) - stateRank(b.state) || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0))
    .map((g) => `${runsText(integerRuns(g.ports), PORT_CHARS, "ports")}/${g.protocol} ${g.state}`)
  const extra = h.extraports.map((e) => `${e.count} ${e.state}`)
  const all = [...parts, ...extra]
  return all.length === 0 ? "no ports reported" : all.join("; ")
}

export interface Fact {
  readonly text: string
  readonly hosts: Array<string>
}

/** Facts of one kind, each text once, in the order first seen. */
export class Facts {
  readonly byText = new Map<string, Fact>()
  add(text: string, address: string): void {
    const fact = this.byText.get(text)
    if (fact === undefined) this.byText.set(text, { text, hosts: [address] })
    else if (fact.hosts[fact.hosts.length - 1] !== address) fact.hosts.push(address)
  }
  get list(): ReadonlyArray<Fact> {
    return [...this.byText.values()]
  }
}

const portName = (p: NmapPort) => `${p.portid}/${p.protocol}`

/** What version detection (or a masscan banner) said about a service, fenced; undefined when it said nothing. */
export const serviceDetail = (s: NmapService): string | undefined => {
  // The common case (a port-number guess: name, method, conf) says nothing, and a /24 has thousands of them.
  if (
    s.product === undefined && s.version === undefined && s.extrainfo === undefined && s.hostname === undefined &&
    s.ostype === undefined && s.devicetype === undefined && s.cpe.length === 0 && s.banner === undefined &&
    s.servicefp === undefined
  ) return undefined
  const words = [s.product, s.version, s.extrainfo === undefined ? undefined : `(${s.extrainfo})`, s.hostname, s.ostype, s.devicetype]
    .filter((w): w is string => w !== undefined && w !== "")
  const detail = [...words, ...s.cpe].join(" ")
  const banner = s.banner === undefined || s.banner === "" ? "" : ` banner ${fence(s.banner, SERVICE_CHARS)}`
  const fp = s.servicefp === undefined ? "" : " (unrecognised: its fingerprint is in the result)"
  if (detail === "" && banner === "" && fp === "") return undefined
  const name = s.tunnel !== undefined ? `${s.tunnel}/${s.name}` : s.name
  return `${name}${detail === "" ? "" : ` ${fence(detail, SERVICE_CHARS)}`}${banner}${fp}`
}

export const scriptText = (where: string, s: NmapScript): string => `${where} ${s.id}: ${fence(s.output.trim(), SCRIPT_CHARS)}`

export interface NmapFacts {
  readonly services: Facts
  readonly scripts: Facts
  readonly os: Facts
  readonly guesses: Facts
  readonly names: Facts
  readonly other: Facts
}

const hostFacts = (h: NmapHost, f: NmapFacts): void => {
  const address = addressOf(h)
  const guessed: Array<string> = []
  for (const p of h.ports) {
    const detail = p.service === undefined ? undefined : serviceDetail(p.service)
    if (detail !== undefined) f.services.add(`${portName(p)} ${detail}`, address)
    else if (p.state === "open" && p.service !== undefined && p.service.name !== "" && p.service.name !== "unknown") {
      guessed.push(`${p.portid} ${p.service.name}`)
    }
    for (const s of p.scripts) f.scripts.add(scriptText(portName(p), s), address)
  }
  for (const s of h.hostscripts) f.scripts.add(scriptText("host", s), address)
  if (guessed.length > 0) f.guesses.add(`service names guessed from port numbers: ${guessed.join(", ")}`, address)
  const best = h.os[0]
  if (best !== undefined) {
    const more = h.os.length > 1 ? ` (+${h.os.length - 1} less likely)` : ""
    f.os.add(`os: ${best.name} ${best.accuracy}%${more}`, address)
  }
  const mac = h.addresses.find((a) => a.addrtype === "mac")
  const names = [
    ...(h.hostnames.length > 0 ? [`names ${fence(h.hostnames.map((n) => n.name).join(" "), SERVICE_CHARS)}`] : []),
    ...(mac !== undefined ? [`mac ${mac.addr}${mac.vendor !== undefined ? ` ${mac.vendor}` : ""}`] : [])
  ]
  if (names.length > 0) f.names.add(`${address}: ${names.join("; ")}`, address)
  const other = [
    h.uptime !== undefined ? `uptime ${h.uptime.seconds}s` : "",
    h.distance !== undefined ? `distance ${h.distance}` : ""
  ].filter((x) => x !== "")
  if (other.length > 0) f.other.add(other.join(", "), address)
}

const noFacts = (): NmapFacts => ({
  services: new Facts(),
  scripts: new Facts(),
  os: new Facts(),
  guesses: new Facts(),
  names: new Facts(),
  other: new Facts()
})

/** What a host is grouped by: its port table when up, its state (and why) otherwise. */
const groupKey = (h: NmapHost): string =>
  h.status.state === "up" ? portTable(h) : `${h.status.state}${h.status.reason !== "" ? ` (${h.status.reason})` : ""}`

/**
 * What a summary reads of each host, gathered one host at a time and in
 * order: a stream parser adds every host as it is kept, while the tool is
 * still running, so the summary at the end only arranges what is here.
 */
export class HostDigest {
  /** Hosts by group key, their addresses in order. */
  readonly groups = new Map<string, Array<string>>()
  readonly facts: NmapFacts = noFacts()
  private added = 0

  /** Adds `hosts[i]` for every i not added yet: hosts are only ever appended to the list digested. */
  catchUp(hosts: ReadonlyArray<NmapHost>): this {
    for (; this.added < hosts.length; this.added++) {
      const h = hosts[this.added]!
      const key = groupKey(h)
      const list = this.groups.get(key)
      if (list === undefined) this.groups.set(key, [addressOf(h)])
      else list.push(addressOf(h))
      hostFacts(h, this.facts)
    }
    return this
  }

  /** How many hosts it holds. */
  get size(): number {
    return this.added
  }
}

const joined = (...all: ReadonlyArray<Facts>): Facts => {
  const out = new Facts()
  for (const facts of all) {
    for (const fact of facts.byText.values()) for (const address of fact.hosts) out.add(fact.text, address)
  }
  return out
}

/** Every fact of `run`, from the digest of its hosts and its pre- and post-scan scripts. */
export const nmapFacts = (run: NmapRun, digest: HostDigest): NmapFacts => {
  // Most runs have neither: their facts are the digest's, with nothing to copy them for.
  if (run.prescripts.length === 0 && run.postscripts.length === 0) return digest.facts
  const before = new Facts()
  for (const s of run.prescripts) before.add(scriptText("before the scan", s), "")
  const after = new Facts()
  for (const s of run.postscripts) after.add(scriptText("after the scan", s), "")
  return { ...digest.facts, scripts: joined(before, digest.facts.scripts, after) }
}
