import { describe, expect, it, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { execFileSync } from "node:child_process"
import { createServer as createHttpServer } from "node:http"
import { createServer as createTcpServer, type Server } from "node:net"
import type { NmapHost, NmapRun } from "../../src/tools/nmap/result.js"
import { type Lab, LAB_SUBNET, labUnavailable, makeLab } from "../support/lab.js"
import { which } from "../support/procfs.js"
import { startHttpServer, startStdioServer, type StdioServer } from "../support/server.js"

/**
 * Real scans of real services through the real server. The server (and so
 * nmap) runs inside the lab's scanner namespace, which has no default route:
 * the only reachable addresses are the lab's own.
 */

const SSH_BANNER = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"
const WEB = "10.231.77.2"
const SSH = "10.231.77.3"
const QUIET = "10.231.77.4"

interface Scan {
  readonly isError: boolean
  readonly result: NmapRun | null
  readonly execution: { readonly argv: ReadonlyArray<string>; readonly resolved_target: string; readonly error: string | null }
  readonly error?: { readonly _tag: string; readonly message: string }
}

const callTool = (server: StdioServer, name: string, args: Record<string, unknown>) =>
  Effect.promise(async (): Promise<Scan> => {
    const reply = await server.client.callTool({ name, arguments: args }, undefined, { timeout: 90_000 })
    return { isError: reply.isError === true, ...(reply.structuredContent as Omit<Scan, "isError">) }
  })

const hostOf = (run: NmapRun | null, address: string): NmapHost | undefined =>
  run?.hosts.find((host) => host.addresses.some((a) => a.addr === address))

const portState = (host: NmapHost | undefined, port: number) => host?.ports.find((p) => p.portid === port)?.state

const unavailable = labUnavailable()
const nmapMissing = which("nmap") === undefined ? "nmap is not installed" : undefined

class LabServer extends Context.Tag("test/lab/LabServer")<LabServer, { readonly lab: Lab; readonly server: StdioServer }>() {}

const LabServerLive = Layer.scoped(
  LabServer,
  Effect.gen(function*() {
    const lab = yield* makeLab({
      scanner: "10.231.77.100",
      hosts: [
        {
          name: "web",
          address: WEB,
          services: [
            { kind: "http", port: 80 },
            { kind: "banner", port: 22, banner: SSH_BANNER },
            { kind: "tls", port: 443, commonName: "web.lab.internal" }
          ]
        },
        { name: "ssh", address: SSH, services: [{ kind: "banner", port: 22, banner: SSH_BANNER }] },
        { name: "quiet", address: QUIET, services: [] }
      ],
      names: { "web.lab.internal": WEB, "evil.lab.internal": "8.8.8.8", "split.lab.internal": WEB }
    })
    const server = yield* startStdioServer({
      wrap: lab.inScanner,
      env: { MCP_SECURITY_ALLOWED_TARGETS: `${LAB_SUBNET},.lab.internal`, MCP_RATE_LIMIT_ENABLED: "false" }
    })
    return { lab, server }
  })
)

if (unavailable !== undefined || nmapMissing !== undefined) {
  describe("lab in network namespaces", () => {
    it.skip(`skipped: ${unavailable ?? nmapMissing}; the loopback scan below still runs`, () => undefined)
  })
} else {
  layer(LabServerLive, { excludeTestServices: true, timeout: "60 seconds" })("lab in network namespaces", (it) => {
    it.effect("the lab has no way out: no default route, nothing of it in the root namespace", () =>
      Effect.gen(function*() {
        const { lab } = yield* LabServer
        for (const ns of lab.namespaces) expect(lab.exec(ns, ["ip", "route", "show", "default"]).trim()).toBe("")
        expect(() => lab.exec(lab.scannerNs, ["ip", "route", "get", "8.8.8.8"])).toThrow()
        expect(execFileSync(which("ip")!, ["-4", "addr", "show"], { encoding: "utf8" })).not.toContain("10.231.77.")
      }))

    it.effect("a port scan finds exactly the services the lab runs", () =>
      Effect.gen(function*() {
        const { server } = yield* LabServer
        const scan = yield* callTool(server, "NmapTool", { target: WEB, extra_args: "-p 22,80,443,8080" })
        expect(scan.isError).toBe(false)
        const host = hostOf(scan.result, WEB)
        expect(host?.status.state).toBe("up")
        expect([22, 80, 443, 8080].map((port) => portState(host, port))).toEqual(["open", "open", "open", "closed"])
        expect(scan.execution.argv.at(-1)).toBe(WEB)
      }), 60_000)

    it.effect("version detection names the SSH banner's product and version", () =>
      Effect.gen(function*() {
        const { server } = yield* LabServer
        const scan = yield* callTool(server, "NmapTool", { target: SSH, extra_args: "-sV -p 22" })
        const service = hostOf(scan.result, SSH)?.ports.find((p) => p.portid === 22)?.service
        expect(service?.name).toBe("ssh")
        expect(service?.product).toBe("OpenSSH")
        expect(service?.version).toMatch(/^9\.2p1/)
      }), 60_000)

    it.effect("the TLS service presents the lab's self-signed certificate", () =>
      Effect.gen(function*() {
        const { server } = yield* LabServer
        const scan = yield* callTool(server, "NmapTool", { target: WEB, extra_args: "-p 443 --script ssl-cert" })
        const port = hostOf(scan.result, WEB)?.ports.find((p) => p.portid === 443)
        expect(port?.state).toBe("open")
        expect(port?.scripts.find((s) => s.id === "ssl-cert")?.output).toContain("commonName=web.lab.internal")
      }), 60_000)

    it.effect("host discovery of a /29 finds the three lab hosts in it and nothing else", () =>
      Effect.gen(function*() {
        const { server } = yield* LabServer
        const scan = yield* callTool(server, "NmapTool", { target: "10.231.77.0/29", template: "discovery" })
        const up = (scan.result?.hosts ?? []).filter((h) => h.status.state === "up").flatMap((h) => h.addresses.map((a) => a.addr))
        expect(up.filter((addr) => addr.includes(".")).sort()).toEqual([WEB, SSH, QUIET])
      }), 60_000)

    it.effect("a lab name is pinned to its address before the tool runs", () =>
      Effect.gen(function*() {
        const { server } = yield* LabServer
        const scan = yield* callTool(server, "NmapTool", { target: "web.lab.internal", extra_args: "-p 80" })
        expect(scan.execution.resolved_target).toBe(WEB)
        expect(scan.execution.argv.at(-1)).toBe(WEB)
        expect(portState(hostOf(scan.result, WEB), 80)).toBe("open")
        const probe = yield* callTool(server, "HttpProbeTool", { target: "http://web.lab.internal/" })
        expect(probe.isError).toBe(false)
        expect(probe.execution.argv.join(" ")).toContain(WEB)
      }), 60_000)

    it.effect("the REST API, reached from inside the scanner's namespace, scans the lab", () =>
      Effect.scoped(Effect.gen(function*() {
        const { lab } = yield* LabServer
        const rest = yield* startHttpServer({
          wrap: lab.inScanner,
          env: { MCP_SECURITY_ALLOWED_TARGETS: LAB_SUBNET, MCP_RATE_LIMIT_ENABLED: "false" }
        })
        const body = JSON.stringify({ target: SSH, extra_args: "-p 22,80" })
        const reply = JSON.parse(lab.exec(lab.scannerNs, [
          "curl",
          "-sS",
          "--max-time",
          "60",
          "-H",
          "content-type: application/json",
          "--data-binary",
          body,
          `http://127.0.0.1:${rest.port}/tools/NmapTool/execute`
        ]))
        const host = hostOf(reply.structured, SSH)
        expect([portState(host, 22), portState(host, 80)]).toEqual(["open", "closed"])
      })), 60_000)

    it.effect("a name in an allowed suffix that resolves to a public address is refused", () =>
      Effect.gen(function*() {
        const { server } = yield* LabServer
        const scan = yield* callTool(server, "NmapTool", { target: "evil.lab.internal" })
        expect(scan.isError).toBe(true)
        expect(scan.error?._tag).toBe("TargetRejected")
        const outside = yield* callTool(server, "NmapTool", { target: "10.231.78.1" })
        expect(outside.error?._tag).toBe("TargetRejected")
      }))
  })
}

/** Listens on 127.0.0.1 with an OS-chosen port; closed with the scope. */
const listenLoopback = (server: Server) =>
  Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
    () => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  )

describe.skipIf(nmapMissing !== undefined)("loopback scan (works without namespaces)", () => {
  it.scopedLive("scans loopback listeners through the real server", () =>
    Effect.gen(function*() {
      const ssh = createTcpServer((socket) => {
        socket.on("error", () => undefined)
        socket.end(SSH_BANNER)
      })
      const sshPort = yield* listenLoopback(ssh)
      const httpPort = yield* listenLoopback(createHttpServer((_req, res) => res.end("ok")))
      const server = yield* startStdioServer({ env: { MCP_SECURITY_ALLOWED_TARGETS: "127.0.0.1/32", MCP_RATE_LIMIT_ENABLED: "false" } })
      const scan = yield* callTool(server, "NmapTool", { target: "127.0.0.1", extra_args: `-sT -p ${sshPort},${httpPort}` })
      const host = hostOf(scan.result, "127.0.0.1")
      expect(host?.status.state).toBe("up")
      expect([portState(host, sshPort), portState(host, httpPort)]).toEqual(["open", "open"])
    }), 60_000)
})
