import { describe, expect, it } from "@effect/vitest"
import { parseNmapXml } from "../../../src/tools/nmap/parseXml.js"
import { summarizeNmap } from "../../../src/tools/nmap/summary.js"
import { fixture } from "../support.js"

const summary = (name: string) => summarizeNmap(parseNmapXml(fixture(name)))

describe("summarizeNmap", () => {
  it("states hosts up of total, each port with its state, and marks table-guessed services", () => {
    expect(summary("nmap/connect.xml")).toBe(
      ["nmap 7.93, 1 host up of 1, 0.04s", "127.0.0.1 up: 18080/tcp open unknown?; 18081/tcp closed"].join("\n")
    )
  })

  it("keeps versions, CPEs, script output, OS guesses and uptime", () => {
    expect(summary("nmap/service.xml")).toBe([
      "nmap 7.93, 1 host up of 1, 18.04s",
      "127.0.0.1 (localhost) up: 22/tcp closed ssh?; 18080/tcp open http SimpleHTTPServer 0.6 (Python 3.11.7) [cpe:/a:python:simplehttpserver:0.6]; 18081/tcp closed",
      "  18080/tcp http-server-header: SimpleHTTP/0.6 Python/3.11.7",
      "  18080/tcp http-title: Directory listing for /",
      "  os: Linux 5.0 - 5.2 96%, Linux 3.1 95%, Linux 3.2 95% (+7 less likely)",
      "  uptime 2s (since Thu Nov 26 05:33:59 2026), distance 0"
    ].join("\n"))
  })

  it("folds closed ports into a count and lists host scripts", () => {
    expect(summary("nmap/hostscript.xml")).toBe(
      ["nmap 7.93, 1 host up of 1, 0.29s", "127.0.0.1 up: 100 closed (reset)", "  host ipidseq: All zeros"].join("\n")
    )
  })

  it("is far shorter than the raw report", () => {
    for (const name of ["nmap/service.xml", "nmap/hostscript.xml", "nmap/discovery.xml"]) {
      expect(summary(name).length * 3).toBeLessThan(fixture(name).length)
    }
  })

  it("says when the report is partial and does not claim a total", () => {
    const text = summary("nmap/truncated.xml")
    expect(text.split("\n")[0]).toBe("nmap 7.93, 1 host up")
    expect(text).toContain("18080/tcp open http SimpleHTTPServer 0.6")
    expect(text).toContain("PARTIAL")
  })

  it("shows filtered reasons, multi-line script output, MAC vendors, errors and warnings", () => {
    const xml = `<nmaprun scanner="nmap" version="7.93"><host><status state="up" reason="arp-response"/>
<address addr="10.0.0.5" addrtype="ipv4"/><address addr="00:11:22:33:44:55" addrtype="mac" vendor="Acme"/>
<ports><port protocol="tcp" portid="443"><state state="filtered" reason="no-response"/><service name="https" method="table" conf="3"/></port>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH" version="9.2p1" method="probed" conf="10"/>
<script id="ssh-hostkey" output="&#xa;  256 aa:bb (ECDSA)&#xa;  256 cc:dd (ED25519)"/></port></ports></host>
<runstats><finished elapsed="1.5" exit="error" errormsg="boom"/><hosts up="1" down="3" total="4"/></runstats></nmaprun>`
    expect(summarizeNmap(parseNmapXml(xml, "Warning: 10.0.0.5 giving up on port\n"))).toBe([
      "nmap 7.93, 1 host up of 4, 1.5s, exit error",
      "10.0.0.5 (mac 00:11:22:33:44:55 Acme) up: 443/tcp filtered (no-response) https?; 22/tcp open ssh OpenSSH 9.2p1",
      "  22/tcp ssh-hostkey:",
      "    256 aa:bb (ECDSA)",
      "    256 cc:dd (ED25519)",
      "error: boom",
      "note: Warning: 10.0.0.5 giving up on port"
    ].join("\n"))
  })
})
