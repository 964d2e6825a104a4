import { describe, expect, it } from "@effect/vitest"
import { FastCheck, Schema } from "effect"
import { encode } from "gpt-tokenizer/encoding/o200k_base"
import { jsonText } from "../../../src/jsonText.js"
import { masscanSpec } from "../../../src/tools/masscan.js"
import { nmapStream, parseNmapXml } from "../../../src/tools/nmap/parseXml.js"
import { NmapRun } from "../../../src/tools/nmap/result.js"
import { nmapSpec } from "../../../src/tools/nmap/spec.js"
import { summarizeNmap } from "../../../src/tools/nmap/summary.js"
import { defaultResultLimits, runStream } from "../../../src/tools/stream.js"
import type { ResultLimits } from "../../../src/tools/ToolSpec.js"
import { fixture } from "../support.js"
import { loopback, nmapXml, range, uniformHosts, xmlEscape } from "./generate.js"

const limits = (overrides: Partial<ResultLimits> = {}): ResultLimits => ({ ...defaultResultLimits, ...overrides })

/** Feeds `text` in pieces cut at `cuts` (offsets, any order). */
const pieces = (text: string, cuts: ReadonlyArray<number>): ReadonlyArray<string> => {
  const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b)
  return [...at, text.length].map((end, i) => text.slice(i === 0 ? 0 : at[i - 1], end))
}

const streamed = (text: string, cuts: ReadonlyArray<number>, l = limits()) =>
  runStream(nmapSpec.stream!(l), pieces(text, cuts), { partial: false })

describe("nmap stream parser", () => {
  it("reads a 1,024-host report completely, totals from nmap's run statistics, summary within budget", { timeout: 30_000 }, () => {
    const xml = nmapXml(uniformHosts(1024, range(20000, 50)))
    expect(xml.length).toBeGreaterThan(1_000_000)
    const { data, summary } = streamed(xml, range(1, 400).map((i) => i * 4099))
    expect(data.complete).toBe(true)
    expect(data.dropped).toBeUndefined()
    expect(data.hosts).toHaveLength(1024)
    expect(data.hosts.reduce((n, h) => n + h.ports.filter((p) => p.state === "open").length, 0)).toBe(51_200)
    expect(data.runstats?.hosts).toEqual({ up: 1024, down: 0, total: 1024 })
    expect(summary.split("\n")[1]).toBe("1024 hosts 127.0.0.0-127.0.3.255: 20000-20049/tcp open")
    expect(encode(summary).length).toBeLessThanOrEqual(1500)
  })

  it.prop("gives the same result whatever the chunk boundaries", {
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 40 })
  }, ({ cuts }) => {
    const xml = fixture("nmap/service.xml")
    expect(streamed(xml, cuts)).toEqual(streamed(xml, []))
  })

  it.prop("gives the same result for a generated network scan whatever the chunk boundaries", {
    cuts: FastCheck.array(FastCheck.nat(), { minLength: 1, maxLength: 200 })
  }, ({ cuts }) => {
    const xml = nmapXml([
      ...uniformHosts(20, [22, 80]),
      { address: "127.0.1.9", open: [443], service: "product=\"nginx &amp; co\" version=\"1.2\" method=\"probed\" conf=\"10\"" },
      { address: "127.0.1.10", open: [8080], script: { id: "http-title", output: "Ünïcödé «title» &\nnext" } }
    ])
    expect(streamed(xml, cuts)).toEqual(streamed(xml, []))
  }, { fastCheck: { numRuns: 30 } })

  it.prop("reads a report as saxes alone reads it: the same result, summary and JSON, ports shared or not", {
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 80 }),
    product: FastCheck.string({ maxLength: 12 }),
    hosts: FastCheck.integer({ min: 1, max: 12 })
  }, ({ cuts, hosts, product }) => {
    const xml = nmapXml([
      ...uniformHosts(hosts, [22, 80, 443]),
      { address: "127.0.1.9", open: [22, 80], service: `product="${xmlEscape(product)}" method="probed" conf="10"` },
      { address: "127.0.1.10", open: [22, 80], script: { id: "http-title", output: product } }
    ])
    const fast = streamed(xml, cuts)
    // A byte order mark first: the fast reader hands the whole report to saxes, so nothing is shared.
    const bySaxes = streamed(`\ufeff${xml}`, cuts)
    expect(fast).toEqual(bySaxes)
    expect(jsonText(fast.data)).toBe(JSON.stringify(bySaxes.data))
  }, { fastCheck: { numRuns: 60 } })

  it.prop("summarises what it digested while reading exactly as the whole result read at the end", {
    cuts: FastCheck.array(FastCheck.nat(), { maxLength: 60 }),
    name: FastCheck.constantFrom("connect", "discovery", "hostscript", "service", "truncated", "udp", "generated")
  }, ({ cuts, name }) => {
    const xml = name === "generated"
      ? nmapXml([
        ...uniformHosts(12, [22, 80]),
        { address: "127.0.1.9", open: [443], service: "product=\"nginx\" version=\"1.2\" method=\"probed\" conf=\"10\"" },
        { address: "127.0.1.10", open: [8080], script: { id: "http-title", output: "title" } },
        { address: "127.0.1.11", state: "down", open: [] }
      ])
      : fixture(`nmap/${name}.xml`)
    const { data, summary } = runStream(nmapSpec.stream!(limits()), pieces(xml, cuts), { partial: false, resource: "scan://x" })
    expect(summary).toBe(summarizeNmap(data, { tokens: limits().summaryTokens, resource: "scan://x" }))
  }, { fastCheck: { numRuns: 40 } })

  it("keeps max_hosts hosts and says exactly what was dropped", () => {
    const xml = nmapXml([...uniformHosts(1100, [20000, 20001]), { address: "127.0.9.9", state: "down", open: [] }])
    const { data, summary } = streamed(xml, [], limits({ maxHosts: 1024 }))
    expect(data.hosts).toHaveLength(1024)
    expect(data.complete).toBe(false)
    expect(data.partial).toBe(false)
    expect(data.dropped).toEqual({
      limit: "max_hosts",
      max_hosts: 1024,
      max_bytes: defaultResultLimits.maxBytes,
      hosts_seen: 1101,
      hosts_kept: 1024,
      hosts_dropped: 77,
      hosts_up_dropped: 76,
      open_ports_dropped: 152,
      first_address: loopback(1024),
      last_address: "127.0.9.9"
    })
    const lines = summary.split("\n")
    expect(lines[0]).toContain("1100 hosts up, 1 down of 1101 scanned")
    expect(lines[0]).toContain("2200 open ports (2048 on the 1024 hosts kept)")
    expect(lines[1]).toBe(
      "results.max_hosts reached: 1101 hosts seen, 1024 kept, 77 dropped (127.0.4.0 to 127.0.9.9) with 76 up and 152 open ports; " +
        "raise results.max_hosts/max_bytes or scan less at once"
    )
  })

  it("keeps hosts while max_bytes allows and counts the rest", () => {
    const xml = nmapXml(uniformHosts(100, range(1, 40)))
    const { data } = streamed(xml, [], limits({ maxBytes: 50_000 }))
    expect(data.dropped?.limit).toBe("max_bytes")
    expect(data.hosts.length).toBeGreaterThan(0)
    expect(data.hosts.length + data.dropped!.hosts_dropped).toBe(100)
    expect(JSON.stringify(data.hosts).length).toBeLessThan(4 * 50_000)
  })

  it("stops reading at one value larger than max_bytes instead of buffering it", () => {
    const huge = `<nmaprun scanner="nmap"><host><status state="up" reason="x"/><address addr="127.0.0.1" addrtype="ipv4"/>` +
      `<hostscript><script id="x" output="${"A".repeat(3000)}`
    const parser = nmapStream(limits({ maxBytes: 1000 }), { stderrWarnings: true, mergeHosts: false })
    for (let i = 0; i < huge.length; i += 100) parser.feed(huge.slice(i, i + 100))
    const run = parser.finish({ partial: false })
    expect(run.partial).toBe(true)
    expect(run.partial_reason).toBe("the output held a value larger than results.max_bytes")
    expect(run.warnings.join("\n")).toContain("one XML value passed 1000 characters")
  })

  it("returns what was parsed when the run is cut, flagged partial with the reason", () => {
    const xml = nmapXml(uniformHosts(40, [22]))
    const parser = nmapSpec.stream!(limits())
    parser.feed(xml.slice(0, Math.floor(xml.length / 2)))
    expect(parser.progress()).toMatchObject({ hostsUp: expect.any(Number), openPorts: expect.any(Number) })
    const { hostsSeen, hostsUp, openPorts } = parser.progress()
    expect(hostsSeen).toBeGreaterThan(10)
    expect(hostsUp).toBe(hostsSeen)
    expect(openPorts).toBe(hostsSeen)
    const { data, summary } = parser.finish({ partial: true, reason: "timed out after 300 s" })
    expect(data).toMatchObject({ partial: true, partial_reason: "timed out after 300 s", complete: false })
    expect(data.hosts.length).toBeGreaterThanOrEqual(hostsSeen)
    expect(summary).toContain("PARTIAL: timed out after 300 s")
    expect(summary).toContain("no run statistics")
  })

  it("reads garbled documents without throwing, keeping what came before the damage", () => {
    const good = nmapXml(uniformHosts(5, [22]))
    const garbled = [
      good.replace("<host ", "<host <<<< ").slice(0, good.length),
      good.replace(/<\/ports>/, "</prots>"),
      good.replace("<nmaprun", "garbage before <nmaprun"),
      `${good}\ntrailing <junk`,
      "\u0000\u0001\u0002<<<>>>&&&;;",
      good.replace("reason=\"user-set\"", "reason=\"&bogus;\"")
    ]
    for (const text of garbled) {
      const run = parseNmapXml(text)
      expect(Schema.is(NmapRun)(run)).toBe(true)
      expect(run.warnings.length).toBeGreaterThan(0)
    }
    expect(parseNmapXml(garbled[5]!).hosts[0]?.status.reason).toBe("&bogus;")
  })

  it("never throws and always yields a valid result for any bytes", () => {
    FastCheck.assert(
      FastCheck.property(FastCheck.string({ unit: "binary", maxLength: 300 }), FastCheck.nat(2000), (junk, at) => {
        const xml = fixture("nmap/connect.xml")
        const cut = at % xml.length
        const result = nmapSpec.parse!(xml.slice(0, cut) + junk + xml.slice(cut), "")
        expect(Schema.is(NmapRun)(result.data)).toBe(true)
        expect(typeof result.summary).toBe("string")
      }),
      { numRuns: 100 }
    )
  }, 30_000)

  it("joins masscan's one-host-per-port entries into one host per address", () => {
    const entry = (address: string, port: number) =>
      `<host endtime="1"><address addr="${address}" addrtype="ipv4"/><ports><port protocol="tcp" portid="${port}"><state state="open" reason="syn-ack" reason_ttl="64"/></port></ports></host>`
    const xml = `<?xml version="1.0"?><nmaprun scanner="masscan" start="1" version="1.0-BETA" xmloutputversion="1.03">
${entry("10.203.0.2", 80)}${entry("10.203.0.3", 22)}${entry("10.203.0.2", 443)}${entry("10.203.0.2", 80)}
<runstats><finished time="4" timestr="x" elapsed="3" /><hosts up="2" down="0" total="2" /></runstats></nmaprun>`
    const { data, summary } = masscanSpec.parse!(xml, "")
    expect(data.hosts.map((h) => [h.addresses[0]?.addr, h.ports.map((p) => p.portid)])).toEqual([
      ["10.203.0.2", [80, 443]],
      ["10.203.0.3", [22]]
    ])
    expect(summary).toContain("10.203.0.2: 80,443/tcp open")
    const bounded = runStream(masscanSpec.stream!(limits({ maxHosts: 1 })), [xml], { partial: false }).data
    expect(bounded.hosts).toHaveLength(1)
    expect(bounded.dropped).toMatchObject({ hosts_seen: 2, hosts_kept: 1, hosts_dropped: 1, open_ports_dropped: 1 })
  })

  it("keeps script tables, service fingerprints, traces and pre/post scan scripts", () => {
    const xml = `<nmaprun scanner="nmap" version="7.93"><prescript><script id="broadcast-x" output="pre"/></prescript>
<target specification="nosuch.example" status="skipped" reason="invalid"/>
<host timedout="true" comment="c"><status state="up" reason="syn-ack"/><address addr="127.0.0.1" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="9"><state state="open" reason="syn-ack" reason_ip="127.0.0.1"/><owner name="root"/>
<service name="x" servicefp="SF-Port9-TCP:V=7.93%r(NULL,5,&quot;hello&quot;);" devicetype="router" lowver="1" highver="2" rpcnum="100000" proto="rpc" hostname="h"/>
<script id="s" output="o"><elem key="a">1</elem><table key="t"><elem>2</elem><table><elem key="deep">3</elem></table></table></script></port></ports>
<trace port="9" proto="tcp"><hop ttl="1" ipaddr="127.0.0.1" rtt="0.05" host="localhost"/></trace><smurf responses="2"/></host>
<postscript><script id="post" output="after"/></postscript><output type="interactive">note from nmap</output></nmaprun>`
    const run = parseNmapXml(xml)
    const port = run.hosts[0]!.ports[0]!
    expect(port.service).toMatchObject({
      servicefp: "SF-Port9-TCP:V=7.93%r(NULL,5,\"hello\");",
      devicetype: "router",
      lowver: "1",
      highver: "2",
      rpcnum: "100000",
      proto: "rpc",
      hostname: "h"
    })
    expect(port).toMatchObject({ reason_ip: "127.0.0.1", owner: "root" })
    expect(port.scripts[0]).toEqual({
      id: "s",
      output: "o",
      elems: [{ key: "a", value: "1" }],
      tables: [{
        key: "t",
        elems: [{ key: undefined, value: "2" }],
        tables: [{ key: undefined, elems: [{ key: "deep", value: "3" }], tables: [] }]
      }]
    })
    expect(run.hosts[0]).toMatchObject({ timedout: true, comment: "c", smurf: 2 })
    expect(run.hosts[0]!.trace).toEqual({ proto: "tcp", port: 9, hops: [{ ttl: 1, ipaddr: "127.0.0.1", rtt: "0.05", host: "localhost" }] })
    expect(run.prescripts.map((s) => s.id)).toEqual(["broadcast-x"])
    expect(run.postscripts.map((s) => s.id)).toEqual(["post"])
    expect(run.targets).toEqual([{ specification: "nosuch.example", status: "skipped", reason: "invalid" }])
    expect(run.output).toEqual([{ type: "interactive", text: "note from nmap" }])
    expect(Schema.is(NmapRun)(run)).toBe(true)
  })
})

describe("progress while the report streams", () => {
  it("reports nmap's own percentage and the hosts and open ports read so far", () => {
    const parser = nmapSpec.stream!(limits())
    const xml = fixture("nmap/progress.xml")
    parser.feed(xml.slice(0, xml.indexOf("<host ")))
    expect(parser.progress()).toMatchObject({ hostsSeen: 0, openPorts: 0, percent: expect.any(Number) })
    parser.feed(xml.slice(xml.indexOf("<host ")))
    expect(parser.progress().hostsSeen).toBe(1)
  })
})
