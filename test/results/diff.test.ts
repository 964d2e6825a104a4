import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { encode } from "gpt-tokenizer/encoding/o200k_base"
import { createServer, type Server } from "node:net"
import { diffScans } from "../../src/results/diff.js"
import { summarizeDiff } from "../../src/results/diffSummary.js"
import { ScanDiff } from "../../src/results/ScanDiff.js"
import { parseNmapXml } from "../../src/tools/nmap/parseXml.js"
import { nmapXml, range, uniformHosts } from "../tools/nmap/generate.js"
import { run } from "../tools/support.js"

const run1 = `<nmaprun scanner="nmap" start="100" version="7.93"><host><status state="up" reason="syn-ack"/>
<address addr="127.0.0.1" addrtype="ipv4"/><ports><extraports state="closed" count="997"/>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH" version="8.9p1" method="probed" conf="10"/>
<script id="ssh-hostkey" output="256 aa (ECDSA)"/></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack"/><service name="http" method="table" conf="3"/><script id="http-title" output="Old"/></port>
<port protocol="tcp" portid="443"><state state="filtered" reason="no-response"/></port></ports></host>
<host><status state="up" reason="syn-ack"/><address addr="127.0.0.2" addrtype="ipv4"/><ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port></ports></host>
<host><status state="up" reason="syn-ack"/><address addr="127.0.0.3" addrtype="ipv4"/><ports><port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port></ports></host>
<runstats><finished elapsed="1" exit="success"/><hosts up="3" down="0" total="3"/></runstats></nmaprun>`

const run2 = `<nmaprun scanner="nmap" start="200" version="7.93"><host><status state="up" reason="syn-ack"/>
<address addr="127.0.0.1" addrtype="ipv4"/><ports><extraports state="closed" count="997"/>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/><service name="ssh" product="OpenSSH" version="9.6p1" method="probed" conf="10"/>
<script id="ssh-hostkey" output="256 aa (ECDSA)"/></port>
<port protocol="tcp" portid="443"><state state="closed" reason="reset"/></port>
<port protocol="tcp" portid="8080"><state state="open" reason="syn-ack"/><service name="http-proxy" method="table" conf="3"/><script id="http-title" output="&lt;&amp;New&quot;"/></port></ports>
<hostscript><script id="ipidseq" output="All zeros"/></hostscript></host>
<host><status state="down" reason="no-response"/><address addr="127.0.0.2" addrtype="ipv4"/></host>
<host><status state="up" reason="syn-ack"/><address addr="127.0.0.4" addrtype="ipv4"/><ports><port protocol="tcp" portid="25"><state state="open" reason="syn-ack"/></port></ports></host>
<runstats><finished elapsed="1" exit="success"/><hosts up="2" down="1" total="3"/></runstats></nmaprun>`

describe("diffScans", () => {
  it("names hosts new, gone and changed, ports opened, closed and changed, service and script changes", () => {
    const d = diffScans(parseNmapXml(run1), parseNmapXml(run2))
    expect(Schema.is(ScanDiff)(d)).toBe(true)
    expect(d.hosts_new).toEqual([{ address: "127.0.0.4", state: "up", open_ports: ["25/tcp"] }])
    expect(d.hosts_gone).toEqual([{ address: "127.0.0.3", state: "up", open_ports: ["22/tcp"] }])
    expect(d.hosts_state_changed).toEqual([{ address: "127.0.0.2", from: "up", to: "down" }])
    expect(d.ports_opened).toEqual([{
      address: "127.0.0.1",
      protocol: "tcp",
      portid: 8080,
      from: "closed",
      to: "open",
      service: "http-proxy"
    }])
    expect(d.ports_closed).toEqual([
      { address: "127.0.0.1", protocol: "tcp", portid: 80, from: "open", to: "closed", service: "http" },
      // Down in the later scan: its port is no longer known open.
      { address: "127.0.0.2", protocol: "tcp", portid: 22, from: "open", to: "unknown" }
    ])
    expect(d.ports_state_changed).toEqual([{ address: "127.0.0.1", protocol: "tcp", portid: 443, from: "filtered", to: "closed" }])
    expect(d.services_changed).toEqual([{
      address: "127.0.0.1",
      protocol: "tcp",
      portid: 22,
      changes: [{ field: "version", from: "8.9p1", to: "9.6p1" }]
    }])
    expect(d.scripts_changed).toEqual([{ address: "127.0.0.1", where: "host", id: "ipidseq", change: "added", to: "All zeros" }])
    expect(d.hosts_unchanged).toBe(0)
    expect(d.a).toMatchObject({ start: 100, complete: true })
  })

  it("is empty between a scan and itself, and never fails on odd script output", () => {
    const odd = `<nmaprun scanner="nmap"><host><status state="up" reason="x"/><address addr="127.0.0.1" addrtype="ipv4"/><ports>
<port protocol="tcp" portid="1"><state state="open" reason="x"/><script id="x" output="&#xa;&#x1;\u00ff&lt;table&gt;"><table><elem>1</elem></table></script></port>
<port protocol="tcp" portid="1"><state state="open" reason="x"/></port></ports></host></nmaprun>`
    for (const xml of [run1, run2, odd]) {
      const d = diffScans(parseNmapXml(xml), parseNmapXml(xml))
      expect([d.hosts_new, d.hosts_gone, d.ports_opened, d.ports_closed, d.services_changed, d.scripts_changed].flat()).toEqual([])
    }
    expect(diffScans(parseNmapXml(odd), parseNmapXml(run1)).scripts_changed.length).toBeGreaterThanOrEqual(0)
  })

  it("summarises within the budget, fencing what the hosts wrote", () => {
    const d = diffScans(parseNmapXml(run1), parseNmapXml(run2))
    const text = summarizeDiff(d, { tokens: 1500 })
    expect(text.split("\n")).toContain("+ 127.0.0.1 8080/tcp open (was closed) «http-proxy»")
    expect(text).toContain("- 127.0.0.1 80/tcp closed (was open) «http»")
    expect(text).toContain("~ 127.0.0.1 22/tcp service version «8.9p1» to «9.6p1»")
    const big = diffScans(
      parseNmapXml(nmapXml(uniformHosts(256, range(20000, 50)))),
      parseNmapXml(nmapXml(uniformHosts(256, range(20025, 50))))
    )
    expect(big.ports_opened).toHaveLength(256 * 25)
    const bounded = summarizeDiff(big, { tokens: 800, resource: "diff://a/b" })
    expect(encode(bounded).length).toBeLessThanOrEqual(800)
    expect(bounded.split("\n")[0]).toContain("6400 ports opened, 6400 closed")
    expect(bounded.split("\n").at(-1)).toContain("everything is in diff://a/b")
  })
})

const listenAll = (port = 0) =>
  Effect.async<Server>((resume) => {
    const server = createServer((socket) => {
      socket.on("error", () => undefined)
      socket.end()
    })
    server.once("error", (e) => resume(Effect.die(e)))
    server.listen(port, "0.0.0.0", () => resume(Effect.succeed(server)))
  })
const close = (server: Server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
const portOf = (server: Server) => (server.address() as { port: number }).port

// Scans only 127.0.0.1-3 (listeners on 0.0.0.0 answer on every loopback address), with -n.
describe("diffScans on real scans of a changing loopback listener set", () => {
  it.scoped("names exactly the ports that opened and closed", () =>
    Effect.gen(function*() {
      const servers = yield* Effect.all([listenAll(), listenAll(), listenAll(), listenAll()])
      const [p1, p2, p3, p4] = servers.map(portOf) as [number, number, number, number]
      const live = new Set(servers)
      yield* Effect.addFinalizer(() => Effect.forEach([...live], close, { discard: true }))
      yield* close(servers[3]!)
      live.delete(servers[3]!)
      const scan = () =>
        run("nmap", ["-oX", "-", "-n", "-sT", "-Pn", "-p", [p1, p2, p3, p4].join(","), "127.0.0.1-3"]).pipe(
          Effect.map((out) => parseNmapXml(out.stdout, out.stderr))
        )
      const before = yield* scan()
      expect(before.hosts).toHaveLength(3)
      yield* close(servers[1]!)
      live.delete(servers[1]!)
      live.add(yield* listenAll(p4))
      const after = yield* scan()
      const d = diffScans(before, after)
      const hosts = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
      expect(d.ports_opened.map((c) => [c.address, c.portid, c.from])).toEqual(hosts.map((h) => [h, p4, "closed"]))
      expect(d.ports_closed.map((c) => [c.address, c.portid, c.to])).toEqual(hosts.map((h) => [h, p2, "closed"]))
      expect([d.hosts_new, d.hosts_gone, d.hosts_state_changed, d.ports_state_changed].flat()).toEqual([])
      expect(summarizeDiff(d, { tokens: 1500 })).toContain(`+ 127.0.0.1 ${p4}/tcp open (was closed)`)
    }), { timeout: 90_000 })
})
