import { attr, node, nodes, numAttr, parseUntrustedXml, texts, type XmlNode } from "../xml.js"
import type { NmapExtraPorts, NmapHost, NmapOsMatch, NmapPort, NmapRun, NmapScript, NmapService } from "./result.js"

/** Elements that may repeat; declaring them keeps one-element lists as lists. */
const repeated: ReadonlySet<string> = new Set([
  "host",
  "address",
  "hostname",
  "port",
  "extraports",
  "extrareasons",
  "script",
  "osmatch",
  "osclass",
  "cpe",
  "scaninfo"
])

const scripts = (value: unknown): ReadonlyArray<NmapScript> =>
  nodes(value).map((s) => ({ id: attr(s, "id") ?? "", output: attr(s, "output") ?? "" }))

const service = (s: XmlNode): NmapService => ({
  name: attr(s, "name") ?? "",
  product: attr(s, "product"),
  version: attr(s, "version"),
  extrainfo: attr(s, "extrainfo"),
  tunnel: attr(s, "tunnel"),
  ostype: attr(s, "ostype"),
  method: attr(s, "method"),
  conf: numAttr(s, "conf"),
  banner: attr(s, "banner"),
  cpe: texts(s["cpe"])
})

const port = (p: XmlNode): NmapPort => {
  const state = node(p["state"])
  return {
    protocol: attr(p, "protocol") ?? "",
    portid: numAttr(p, "portid") ?? 0,
    state: attr(state, "state") ?? "unknown",
    reason: attr(state, "reason") ?? "",
    reason_ttl: numAttr(state, "reason_ttl"),
    service: p["service"] === undefined ? undefined : service(node(p["service"])),
    scripts: scripts(p["script"])
  }
}

const extraports = (e: XmlNode): NmapExtraPorts => ({
  state: attr(e, "state") ?? "",
  count: numAttr(e, "count") ?? 0,
  reasons: nodes(e["extrareasons"]).map((r) => ({
    reason: attr(r, "reason") ?? "",
    count: numAttr(r, "count") ?? 0,
    protocol: attr(r, "proto")
  }))
})

const osmatch = (m: XmlNode): NmapOsMatch => ({
  name: attr(m, "name") ?? "",
  accuracy: numAttr(m, "accuracy") ?? 0,
  cpe: nodes(m["osclass"]).flatMap((c) => texts(c["cpe"]))
})

const host = (h: XmlNode): NmapHost => {
  const ports = node(h["ports"])
  const portList = nodes(ports["port"]).map(port)
  const uptime = h["uptime"] === undefined ? undefined : node(h["uptime"])
  return {
    status: h["status"] === undefined
      // masscan writes no status: it lists only hosts that answered on a port.
      ? { state: portList.length > 0 ? "up" : "unknown", reason: "" }
      : { state: attr(node(h["status"]), "state") ?? "unknown", reason: attr(node(h["status"]), "reason") ?? "" },
    addresses: nodes(h["address"]).map((a) => ({
      addr: attr(a, "addr") ?? "",
      addrtype: attr(a, "addrtype") ?? "",
      vendor: attr(a, "vendor")
    })),
    hostnames: nodes(node(h["hostnames"])["hostname"]).map((n) => ({ name: attr(n, "name") ?? "", type: attr(n, "type") ?? "" })),
    ports: portList,
    extraports: nodes(ports["extraports"]).map(extraports),
    hostscripts: scripts(node(h["hostscript"])["script"]),
    os: nodes(node(h["os"])["osmatch"]).map(osmatch),
    uptime: uptime === undefined ? undefined : { seconds: numAttr(uptime, "seconds") ?? 0, lastboot: attr(uptime, "lastboot") },
    distance: h["distance"] === undefined ? undefined : numAttr(node(h["distance"]), "value"),
    starttime: numAttr(h, "starttime"),
    endtime: numAttr(h, "endtime")
  }
}

/** nmap prints warnings and errors on stderr; they belong to the result, not to a log nobody reads. */
const stderrWarnings = (stderr: string): ReadonlyArray<string> =>
  stderr.split("\n").map((l) => l.trim()).filter((l) => l.length > 0).slice(0, 20)

/** Parses an nmap (or masscan) `-oX` report; a truncated or garbled one yields what could be read. */
export const parseNmapXml = (stdout: string, stderr = ""): NmapRun => {
  const doc = parseUntrustedXml(stdout, "</nmaprun>", repeated)
  const run = node(doc.root["nmaprun"])
  const runstats = run["runstats"] === undefined ? undefined : node(run["runstats"])
  const finished = runstats === undefined || runstats["finished"] === undefined ? undefined : node(runstats["finished"])
  const hostStats = runstats === undefined || runstats["hosts"] === undefined ? undefined : node(runstats["hosts"])
  const warnings = [...doc.warnings, ...stderrWarnings(stderr)]
  if (doc.root["nmaprun"] === undefined && stdout.trim().length > 0) warnings.push("no <nmaprun> element in the output")
  return {
    scanner: {
      name: attr(run, "scanner") ?? "nmap",
      version: attr(run, "version"),
      args: attr(run, "args"),
      start: numAttr(run, "start"),
      startstr: attr(run, "startstr")
    },
    scaninfo: nodes(run["scaninfo"]).map((s) => ({
      type: attr(s, "type") ?? "",
      protocol: attr(s, "protocol") ?? "",
      numservices: numAttr(s, "numservices"),
      services: attr(s, "services")
    })),
    hosts: nodes(run["host"]).map(host),
    runstats: runstats === undefined
      ? undefined
      : {
        finished: finished === undefined
          ? undefined
          : {
            time: numAttr(finished, "time"),
            timestr: attr(finished, "timestr"),
            elapsed: numAttr(finished, "elapsed"),
            summary: attr(finished, "summary"),
            exit: attr(finished, "exit"),
            errormsg: attr(finished, "errormsg")
          },
        hosts: hostStats === undefined
          ? undefined
          : { up: numAttr(hostStats, "up") ?? 0, down: numAttr(hostStats, "down") ?? 0, total: numAttr(hostStats, "total") ?? 0 }
      },
    complete: doc.complete,
    warnings
  }
}
