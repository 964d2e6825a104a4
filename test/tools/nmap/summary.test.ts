import { describe, expect, it } from "@effect/vitest"
import { parseNmapXml } from "../../../src/tools/nmap/parseXml.js"
import { summarizeNmap } from "../../../src/tools/nmap/summary.js"
import { FENCE_NOTE } from "../../../src/tools/summary/fence.js"
import { fixture } from "../support.js"

const summary = (name: string) => summarizeNmap(parseNmapXml(fixture(name)))

describe("summarizeNmap", () => {
  it("starts with nmap's own totals, then the hosts with their port table", () => {
    expect(summary("nmap/connect.xml")).toBe([
      "nmap 7.93 (nmap -n -oX - -sT -p 18080,18081 127.0.0.1): 1 host up, 0 down of 1 scanned in 0.04s; 1 open port on 1 host",
      "127.0.0.1: 18080/tcp open; 18081/tcp closed"
    ].join("\n"))
  })

  it("keeps versions, CPEs, script output, OS guesses and names, fencing what the host chose", () => {
    expect(summary("nmap/service.xml")).toBe([
      "nmap 7.93 (nmap -n -oX - --stats-every 1s -sS -sV -O --scr…): 1 host up, 0 down of 1 scanned in 18.04s; 1 open port on 1 host",
      "127.0.0.1: 18080/tcp open; 22,18081/tcp closed",
      FENCE_NOTE,
      "18080/tcp http «SimpleHTTPServer 0.6 (Python 3.11.7) cpe:/a:python:simplehttpserver:0.6»",
      "18080/tcp http-server-header: «SimpleHTTP/0.6 Python/3.11.7»",
      "18080/tcp http-title: «Directory listing for /»",
      "os: Linux 5.0 - 5.2 96% (+9 less likely)",
      "127.0.0.1: names «localhost»",
      "uptime 2s, distance 0"
    ].join("\n"))
  })

  it("folds closed ports into a count and lists host scripts", () => {
    expect(summary("nmap/hostscript.xml")).toBe([
      "nmap 7.93 (nmap -n -oX - -sS -F --script ipidseq 127.0.0.1): 1 host up, 0 down of 1 scanned in 0.29s; 0 open ports on 0 hosts",
      "127.0.0.1: 100 closed",
      FENCE_NOTE,
      "host ipidseq: «All zeros»"
    ].join("\n"))
  })

  it("groups the hosts of a network scan into address ranges", () => {
    expect(summary("nmap/discovery.xml")).toBe([
      "nmap 7.93 (nmap -n -oX - -sn 127.0.0.1/30): 4 hosts up, 0 down of 4 scanned in 0s; 0 open ports on 0 hosts",
      "4 hosts 127.0.0.0-127.0.0.3: no ports reported"
    ].join("\n"))
  })

  it("says when the report is partial and does not claim a total", () => {
    const lines = summary("nmap/truncated.xml").split("\n")
    expect(lines[0]).toMatch(/: no run statistics \(the run did not finish\); 1 host up in the report; 1 open port on 1 host$/)
    expect(lines[1]).toBe("PARTIAL: the report ended before </nmaprun>; the result holds what was read before")
    expect(lines).toContain("18080/tcp http «SimpleHTTPServer 0.6 (Python 3.11.7) cpe:/a:python:simplehttpserver:0.6»")
  })

  it("shows errors, warnings, MAC vendors and multi-line script output on one fenced line", () => {
    const xml = `<nmaprun scanner="nmap" version="7.93"><host><status state="up" reason="arp-response"/>
<address addr="10.0.0.5" addrtype="ipv4"/><address addr="00:11:22:33:44:55" addrtype="mac" vendor="Acme"/>
<ports><port protocol="tcp" portid="443"><state state="filtered" reason="no-response"/><service name="https" method="table" conf="3"/></port>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH" version="9.2p1" method="probed" conf="10"/>
<script id="ssh-hostkey" output="&#xa;  256 aa:bb (ECDSA)&#xa;  256 cc:dd (ED25519)"/></port></ports></host>
<runstats><finished elapsed="1.5" exit="error" errormsg="boom"/><hosts up="1" down="3" total="4"/></runstats></nmaprun>`
    expect(summarizeNmap(parseNmapXml(xml, "Warning: 10.0.0.5 giving up on port\n"))).toBe([
      "nmap 7.93: 1 host up, 3 down of 4 scanned in 1.5s; 1 open port on 1 host",
      FENCE_NOTE,
      "exit error: «boom»",
      "note: «Warning: 10.0.0.5 giving up on port»",
      "10.0.0.5: 22/tcp open; 443/tcp filtered",
      "22/tcp ssh «OpenSSH 9.2p1»",
      "22/tcp ssh-hostkey: «256 aa:bb (ECDSA)\\n  256 cc:dd (ED25519)»",
      "10.0.0.5: mac 00:11:22:33:44:55 Acme"
    ].join("\n"))
  })

  it("is far shorter than the raw report", () => {
    for (const name of ["nmap/service.xml", "nmap/hostscript.xml", "nmap/discovery.xml"]) {
      expect(summary(name).length * 3).toBeLessThan(fixture(name).length)
    }
  })
})
