import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { parseNmapXml } from "../../../src/tools/nmap/parseXml.js"
import { NmapRun } from "../../../src/tools/nmap/result.js"
import { fixture } from "../support.js"

describe("parseNmapXml", () => {
  it("reads a connect scan: scanner, scaninfo, host, ports and runstats", () => {
    const run = parseNmapXml(fixture("nmap/connect.xml"))
    expect(run.complete).toBe(true)
    expect(run.warnings).toEqual([])
    expect(run.scanner).toEqual({
      name: "nmap",
      version: "7.93",
      args: "nmap -n -oX - -sT -p 18080,18081 127.0.0.1",
      start: 1795671220,
      startstr: "Thu Nov 26 05:33:40 2026",
      xmloutputversion: "1.05"
    })
    expect(run).toMatchObject({ verbose: 0, debugging: 0, partial: false, targets: [], prescripts: [], postscripts: [], output: [] })
    expect(run.scaninfo).toEqual([{ type: "connect", protocol: "tcp", numservices: 2, services: "18080-18081" }])
    expect(run.hosts).toHaveLength(1)
    const host = run.hosts[0]!
    expect(host.status).toEqual({ state: "up", reason: "localhost-response", reason_ttl: 0 })
    expect(host.addresses).toEqual([{ addr: "127.0.0.1", addrtype: "ipv4", vendor: undefined }])
    expect(host.ports.map((p) => [p.portid, p.protocol, p.state, p.reason])).toEqual([
      [18080, "tcp", "open", "syn-ack"],
      [18081, "tcp", "closed", "conn-refused"]
    ])
    expect(host.ports[0]?.service).toMatchObject({ name: "unknown", method: "table", conf: 3, cpe: [] })
    expect(host.ports[1]?.service).toBeUndefined()
    expect(run.runstats).toEqual({
      finished: {
        time: 1795671220,
        timestr: "Thu Nov 26 05:33:40 2026",
        elapsed: 0.04,
        summary: "Nmap done at Thu Nov 26 05:33:40 2026; 1 IP address (1 host up) scanned in 0.04 seconds",
        exit: "success",
        errormsg: undefined
      },
      hosts: { up: 1, down: 0, total: 1 }
    })
  })

  it("reads versions, CPEs, port scripts, OS matches, uptime and distance, decoding character references", () => {
    const run = parseNmapXml(fixture("nmap/service.xml"))
    expect(run.scanner.args).toBe("nmap -n -oX - --stats-every 1s -sS -sV -O --script http-title -p 18080,18081,22 localhost")
    const host = run.hosts[0]!
    expect(host.hostnames).toEqual([{ name: "localhost", type: "user" }])
    const http = host.ports.find((p) => p.portid === 18080)!
    expect(http.service).toEqual({
      name: "http",
      product: "SimpleHTTPServer",
      version: "0.6",
      extrainfo: "Python 3.11.7",
      tunnel: undefined,
      ostype: undefined,
      method: "probed",
      conf: 10,
      banner: undefined,
      cpe: ["cpe:/a:python:simplehttpserver:0.6"]
    })
    expect(http.scripts).toEqual([
      {
        id: "http-server-header",
        output: "SimpleHTTP/0.6 Python/3.11.7",
        elems: [{ key: undefined, value: "SimpleHTTP/0.6 Python/3.11.7" }],
        tables: []
      },
      { id: "http-title", output: "Directory listing for /", elems: [{ key: "title", value: "Directory listing for /" }], tables: [] }
    ])
    expect(host.os).toHaveLength(10)
    expect(host.os[0]).toEqual({
      name: "Linux 5.0 - 5.2",
      accuracy: 96,
      line: 68062,
      osclass: [{
        type: "general purpose",
        vendor: "Linux",
        osfamily: "Linux",
        osgen: "5.X",
        accuracy: 96,
        cpe: ["cpe:/o:linux:linux_kernel:5"]
      }]
    })
    expect(host.os[3]?.osclass.flatMap((c) => c.cpe)).toEqual([
      "cpe:/o:linux:linux_kernel:2.6.17",
      "cpe:/h:axis:210a_network_camera",
      "cpe:/h:axis:211_network_camera"
    ])
    expect(host.uptime).toEqual({ seconds: 2, lastboot: "Thu Nov 26 05:33:59 2026" })
    expect(host.distance).toBe(0)
    // Facts the earlier parser dropped.
    expect(host.portused).toEqual([
      { state: "open", proto: "tcp", portid: 18080 },
      { state: "closed", proto: "tcp", portid: 22 },
      { state: "closed", proto: "udp", portid: 37682 }
    ])
    expect(host.osfingerprint[0]).toMatch(/^OS:SCAN\(V=7\.93%E=4/)
    expect(host.osfingerprint[0]).toContain("\nOS:")
    expect(host.tcpsequence).toEqual({
      index: 264,
      difficulty: "Good luck!",
      values: "3EA9FB92,3DF9BCAA,369B2A3,869871C6,E6F7D2D5,F8705BB3"
    })
    expect(host.ipidsequence).toEqual({ class: "All zeros", values: "0,0,0,0,0,0" })
    expect(host.tcptssequence?.class).toBe("other")
    expect(host.times).toEqual({ srtt: 76, rttvar: 16, to: 100000 })
    expect(host.ports.find((p) => p.portid === 22)?.reason_ttl).toBe(64)
  })

  it("reads folded ports and host scripts", () => {
    const host = parseNmapXml(fixture("nmap/hostscript.xml")).hosts[0]!
    expect(host.ports).toEqual([])
    expect(host.extraports).toEqual([{
      state: "closed",
      count: 100,
      reasons: [{
        reason: "reset",
        count: 100,
        protocol: "tcp",
        ports:
          "7,9,13,21-23,25-26,37,53,79-81,88,106,110-111,113,119,135,139,143-144,179,199,389,427,443-445,465,513-515,543-544,548,554,587,631,646,873,990,993,995,1025-1029,1110,1433,1720,1723,1755,1900,2000-2001,2049,2121,2717,3000,3128,3306,3389,3986,4899,5000,5009,5051,5060,5101,5190,5357,5432,5631,5666,5800,5900,6000-6001,6646,7070,8000,8008-8009,8080-8081,8443,8888,9100,9999-10000,32768,49152-49157"
      }]
    }])
    expect(host.hostscripts).toEqual([{ id: "ipidseq", output: "All zeros", elems: [], tables: [] }])
  })

  it("reads a discovery scan of a network and a UDP scan", () => {
    const discovery = parseNmapXml(fixture("nmap/discovery.xml"))
    expect(discovery.hosts.map((h) => [h.addresses[0]?.addr, h.status.state])).toEqual([
      ["127.0.0.0", "up"],
      ["127.0.0.1", "up"],
      ["127.0.0.2", "up"],
      ["127.0.0.3", "up"]
    ])
    expect(discovery.runstats?.hosts).toEqual({ up: 4, down: 0, total: 4 })
    const udp = parseNmapXml(fixture("nmap/udp.xml"))
    expect(udp.hosts[0]?.ports.map((p) => `${p.portid}/${p.protocol} ${p.state} ${p.reason}`)).toEqual([
      "53/udp closed port-unreach",
      "161/udp closed port-unreach"
    ])
  })

  it("returns what was written before a cut, flagged incomplete", () => {
    const run = parseNmapXml(fixture("nmap/truncated.xml"))
    expect(run).toMatchObject({ complete: false, partial: true, partial_reason: "the report ended before </nmaprun>" })
    expect(run.warnings).toContain("the report ended inside the host 127.0.0.1; it is kept with what was read")
    expect(run.runstats).toBeUndefined()
    const host = run.hosts[0]!
    expect(host.ports.map((p) => p.portid)).toEqual([22, 18080])
    expect(host.ports[1]?.scripts.map((s) => s.id)).toEqual(["http-server-header", "http-title"])
  })

  it("tolerates a cut at any byte of a report without throwing", () => {
    const xml = fixture("nmap/service.xml")
    for (let cut = 0; cut < xml.length; cut += 97) {
      const run = parseNmapXml(xml.slice(0, cut))
      expect(run.complete).toBe(false)
      expect(Schema.is(NmapRun)(run)).toBe(true)
    }
  })

  it("does not expand entities declared in a DOCTYPE (billion laughs)", () => {
    const lol = [
      "<?xml version=\"1.0\"?>",
      "<!DOCTYPE nmaprun [",
      "  <!ENTITY lol \"lol\">",
      ...Array.from({ length: 9 }, (_, i) => `  <!ENTITY lol${i + 1} "${`&lol${i === 0 ? "" : i};`.repeat(10)}">`),
      "]>",
      "<nmaprun scanner=\"nmap\" args=\"&lol9;\" version=\"7.93\"><host><status state=\"up\" reason=\"x\"/><address addr=\"&lol9;\" addrtype=\"ipv4\"/></host></nmaprun>"
    ].join("\n")
    const run = parseNmapXml(lol)
    expect(run.scanner.args).toBe("&lol9;")
    expect(run.hosts[0]?.addresses[0]?.addr).toBe("&lol9;")
  })

  it("does not read external entities (XXE)", () => {
    const xxe =
      "<?xml version=\"1.0\"?><!DOCTYPE nmaprun [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><nmaprun scanner=\"nmap\" args=\"&xxe;\"></nmaprun>"
    const run = parseNmapXml(xxe)
    expect(run.scanner.args).toBe("&xxe;")
    expect(JSON.stringify(run)).not.toContain("root:")
  })

  it("decodes predefined entities once and character references", () => {
    const run = parseNmapXml("<nmaprun scanner=\"nmap\" args=\"a &amp;lt; b &lt;c&gt; -&#45;x &#x41;\"></nmaprun>")
    expect(run.scanner.args).toBe("a &lt; b <c> --x A")
  })

  it("reports output that is not an nmap report", () => {
    const run = parseNmapXml("Starting Nmap 7.93\nNote: Host seems down.\n", "WARNING: something\n")
    expect(run.hosts).toEqual([])
    expect(run.complete).toBe(false)
    expect(run.warnings).toContain("WARNING: something")
  })

  it("reads masscan's nmap-style XML, where hosts have no status element", () => {
    const run = parseNmapXml(fixture("masscan/open.xml"))
    expect(run.scanner).toMatchObject({ name: "masscan", version: "1.0-BETA", start: 1795671390 })
    expect(run.complete).toBe(true)
    const host = run.hosts[0]!
    expect(host.status.state).toBe("up")
    expect(host.addresses[0]?.addr).toBe("10.203.0.2")
    expect(host.ports).toEqual([{
      protocol: "tcp",
      portid: 18080,
      state: "open",
      reason: "syn-ack",
      reason_ttl: 64,
      service: undefined,
      scripts: []
    }])
    expect(run.runstats?.hosts).toEqual({ up: 1, down: 0, total: 1 })
  })
})
