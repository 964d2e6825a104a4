import { describe, expect, it } from "@effect/vitest"
import type { ScanDiff } from "../../src/results/ScanDiff.js"
import type { NmapRun } from "../../src/tools/nmap/result.js"
import { diffCounts, diffRows, hostsWithoutPorts, matchesFilter, portMatrix, portRows } from "../../src/ui/components/model.js"

const port = (portid: number, state: string, service?: Record<string, string>) => ({
  protocol: "tcp",
  portid,
  state,
  reason: "syn-ack",
  service: service === undefined ? undefined : { name: service["name"] ?? "", cpe: [], ...service },
  scripts: portid === 80 ? [{ id: "http-title", output: "Welcome", elems: [], tables: [] }] : []
})

const host = (addr: string, ports: ReadonlyArray<ReturnType<typeof port>>, state = "up") => ({
  status: { state, reason: "localhost-response" },
  addresses: [{ addr, addrtype: "ipv4" }],
  hostnames: addr === "127.0.0.1" ? [{ name: "localhost", type: "PTR" }] : [],
  ports,
  extraports: [],
  hostscripts: [],
  os: [],
  portused: [],
  osfingerprint: []
})

const run = {
  scanner: { name: "nmap" },
  scaninfo: [],
  targets: [],
  prescripts: [],
  postscripts: [],
  output: [],
  complete: true,
  partial: false,
  warnings: [],
  hosts: [
    host("127.0.0.1", [port(443, "open", { name: "https" }), port(22, "open", { name: "ssh", product: "OpenSSH", version: "9.2" })]),
    host("127.0.0.2", [port(80, "filtered", { name: "http" })]),
    host("127.0.0.3", [], "down")
  ]
} as unknown as NmapRun

describe("shared component model", () => {
  it("flattens hosts and ports in report order, ports by number", () => {
    const rows = portRows(run)
    expect(rows.map((row) => `${row.host} ${row.port} ${row.state}`)).toEqual([
      "127.0.0.1 22/tcp open",
      "127.0.0.1 443/tcp open",
      "127.0.0.2 80/tcp filtered"
    ])
    expect(rows[0]).toMatchObject({ hostname: "localhost", service: "ssh", version: "OpenSSH 9.2", scripts: [] })
    expect(rows[2]!.scripts).toEqual([{ id: "http-title", output: "Welcome" }])
    expect(hostsWithoutPorts(run)).toEqual([{ address: "127.0.0.3", state: "down" }])
  })

  it("filters on every term, and field:value terms match exactly", () => {
    const rows = portRows(run)
    const shown = (filter: string) => rows.filter((row) => matchesFilter(row, filter)).map((row) => row.port)
    expect(shown("")).toHaveLength(3)
    expect(shown("openssh")).toEqual(["22/tcp"])
    expect(shown("state:open")).toEqual(["22/tcp", "443/tcp"])
    expect(shown("state:open 127.0.0.2")).toEqual([])
    expect(shown("LOCALHOST 443")).toEqual(["443/tcp"])
  })

  it("builds the matrix over the union of ports", () => {
    const matrix = portMatrix(portRows(run))
    expect(matrix.ports).toEqual(["22/tcp", "80/tcp", "443/tcp"])
    expect(matrix.hosts.map((h) => h.address)).toEqual(["127.0.0.1", "127.0.0.2"])
    expect(matrix.cells.get("127.0.0.2 80/tcp")).toBe("filtered")
    expect(matrix.cells.get("127.0.0.1 80/tcp")).toBeUndefined()
  })

  it("turns a diff into highlighted rows", () => {
    const side = { scanner: "nmap", complete: true }
    const diff: ScanDiff = {
      a: side,
      b: side,
      hosts_new: [{ address: "127.0.0.9", state: "up", open_ports: ["22/tcp"] }],
      hosts_gone: [],
      hosts_state_changed: [{ address: "127.0.0.5", from: "up", to: "down" }],
      ports_opened: [{ address: "127.0.0.1", protocol: "tcp", portid: 8080, from: "closed", to: "open", service: "http-proxy" }],
      ports_closed: [{ address: "127.0.0.1", protocol: "tcp", portid: 22, from: "open", to: "closed" }],
      ports_state_changed: [{ address: "127.0.0.1", protocol: "tcp", portid: 25, from: "closed", to: "filtered" }],
      services_changed: [{
        address: "127.0.0.1",
        protocol: "tcp",
        portid: 443,
        changes: [{ field: "version", from: "1.0", to: "1.1" }]
      }],
      scripts_changed: [{ address: "127.0.0.1", where: "443/tcp", id: "ssl-cert", change: "added", to: "CN=x" }],
      hosts_unchanged: 2
    }
    const rows = diffRows(diff)
    expect(rows.map((row) => `${row.kind} ${row.what} ${row.host} ${row.where}`)).toEqual([
      "opened host 127.0.0.9 host",
      "closed host 127.0.0.5 host",
      "opened port 127.0.0.1 8080/tcp",
      "closed port 127.0.0.1 22/tcp",
      "changed port 127.0.0.1 25/tcp",
      "changed service 127.0.0.1 443/tcp",
      "opened script 127.0.0.1 443/tcp"
    ])
    expect(rows[5]).toMatchObject({ from: "version=1.0", to: "version=1.1" })
    expect(diffCounts(rows)).toEqual({ opened: 3, closed: 2, changed: 2 })
  })
})
