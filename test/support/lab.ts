import { Duration, Effect, type Scope } from "effect"
import { execFileSync, spawn } from "node:child_process"
import { mkdirSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { atExit, killGroup } from "./cleanup.js"
import { isAlive, which } from "./procfs.js"
import { eventually } from "./server.js"
import { tempDir } from "./shims.js"

/**
 * A test network made of Linux network namespaces: a switch namespace holding
 * a bridge, one namespace per host joined to it by a veth pair, and the
 * scanner's namespace, where the server under test runs. Nothing is added to
 * the root namespace and no namespace has a default route, so whatever runs
 * in the lab cannot reach any address outside LAB_SUBNET.
 */

export const LAB_SUBNET = "10.231.77.0/24"
const PREFIX = "mcplab"

export type Service =
  | { readonly kind: "http"; readonly port: number }
  | { readonly kind: "banner"; readonly port: number; readonly banner: string }
  | { readonly kind: "tls"; readonly port: number; readonly commonName: string }

export interface HostSpec {
  readonly name: string
  readonly address: string
  readonly services: ReadonlyArray<Service>
}

export interface LabSpec {
  readonly scanner: string
  readonly hosts: ReadonlyArray<HostSpec>
  /** /etc/hosts of the scanner's namespace (name → address). */
  readonly names?: Readonly<Record<string, string>>
}

export interface Lab {
  readonly scannerNs: string
  readonly namespaces: ReadonlyArray<string>
  /** argv prefix that runs a command inside the scanner's namespace. */
  readonly inScanner: ReadonlyArray<string>
  /** Runs a command inside a namespace and returns its stdout; fails on a non-zero exit. */
  readonly exec: (ns: string, argv: ReadonlyArray<string>) => string
}

const IP = which("ip") ?? "/usr/sbin/ip"

const ip = (...args: ReadonlyArray<string>) => execFileSync(IP, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })

/** Why the lab cannot be built here (not root, no iproute2, namespaces refused), or undefined when it can. */
export const labUnavailable = (): string | undefined => {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "network namespaces need root"
  if (which("ip") === undefined) return "iproute2 (ip) is not installed"
  const probe = `${PREFIX}${process.pid}probe`
  try {
    ip("netns", "add", probe)
    ip("netns", "del", probe)
    return undefined
  } catch (error) {
    return `ip netns add failed: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`
  }
}

const deleteNamespace = (ns: string) => {
  try {
    ip("netns", "del", ns)
  } catch {
    // Already gone.
  }
  rmSync(join("/etc/netns", ns), { recursive: true, force: true })
}

/** Deletes namespaces left by earlier runs whose process is gone (a crashed or killed test worker). */
const deleteStale = () => {
  const pattern = new RegExp(`^${PREFIX}(\\d+)x`)
  for (const line of ip("netns", "list").split("\n")) {
    const ns = line.split(" ")[0] ?? ""
    const owner = pattern.exec(ns)?.[1]
    if (owner !== undefined && Number(owner) !== process.pid && !isAlive(Number(owner))) deleteNamespace(ns)
  }
}

const SERVICES_JS = `
import { createServer as http } from "node:http"
import { createServer as tcp } from "node:net"
const [kind, port, banner] = process.argv.slice(2)
const server = kind === "http"
  ? http((req, res) => { res.setHeader("server", "lab-http"); res.end("<html><title>lab web</title></html>") })
  : tcp((socket) => { socket.on("error", () => {}); socket.write(banner); socket.setTimeout(5000, () => socket.destroy()) })
server.listen(Number(port), "0.0.0.0")
`

let labCount = 0

/** Builds the lab, starts its services and tears everything down with the scope (and at exit). */
export const makeLab = (spec: LabSpec): Effect.Effect<Lab, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* tempDir("mcp-lab")
    const base = `${PREFIX}${process.pid}x${labCount++}`
    const switchNs = `${base}-sw`
    const scannerNs = `${base}-scan`
    const namespaces = [switchNs, scannerNs, ...spec.hosts.map((_, i) => `${base}-h${i}`)]
    const pids: Array<number> = []

    const teardown = () => {
      for (const pid of pids) killGroup(pid)
      for (const ns of namespaces) deleteNamespace(ns)
    }
    const forget = atExit(teardown)
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        teardown()
        forget()
      })
    )

    yield* Effect.sync(() => {
      deleteStale()
      for (const ns of namespaces) ip("netns", "add", ns)
      ip("-n", switchNs, "link", "add", "br0", "type", "bridge")
      ip("-n", switchNs, "link", "set", "br0", "up")
      const attach = (ns: string, index: number, address: string) => {
        const port = `p${index}`
        ip("link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", switchNs)
        ip("-n", switchNs, "link", "set", port, "master", "br0")
        ip("-n", switchNs, "link", "set", port, "up")
        ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
      }
      attach(scannerNs, 0, spec.scanner)
      spec.hosts.forEach((host, i) => attach(namespaces[i + 2]!, i + 1, host.address))
      // `ip netns exec` bind-mounts these over /etc: names resolve from this table and DNS can only ask loopback.
      mkdirSync(join("/etc/netns", scannerNs), { recursive: true })
      const names = Object.entries(spec.names ?? {}).map(([name, address]) => `${address} ${name}`)
      writeFileSync(join("/etc/netns", scannerNs, "hosts"), ["127.0.0.1 localhost", ...names, ""].join("\n"))
      writeFileSync(join("/etc/netns", scannerNs, "resolv.conf"), "nameserver 127.0.0.1\n")
    })

    const exec = (ns: string, argv: ReadonlyArray<string>) => ip("netns", "exec", ns, ...argv)

    for (const ns of namespaces) {
      const routes = exec(ns, ["ip", "route", "show", "default"]).trim()
      if (routes !== "") return yield* Effect.die(new Error(`lab namespace ${ns} has a default route: ${routes}`))
    }

    const script = join(dir, "services.mjs")
    writeFileSync(script, SERVICES_JS)
    const needsTls = spec.hosts.some((host) => host.services.some((s) => s.kind === "tls"))
    const openssl = which("openssl")
    if (needsTls && openssl === undefined) return yield* Effect.die(new Error("openssl is needed for the lab's TLS service"))

    const start = (ns: string, argv: ReadonlyArray<string>) => {
      const child = spawn(IP, ["netns", "exec", ns, ...argv], { stdio: "ignore", detached: true, cwd: dir })
      if (child.pid !== undefined) pids.push(child.pid)
    }

    for (const [i, host] of spec.hosts.entries()) {
      const ns = namespaces[i + 2]!
      for (const service of host.services) {
        switch (service.kind) {
          case "http":
            start(ns, [process.execPath, script, "http", String(service.port)])
            break
          case "banner":
            start(ns, [process.execPath, script, "banner", String(service.port), service.banner])
            break
          case "tls": {
            const key = join(dir, `${host.name}.key`)
            const cert = join(dir, `${host.name}.crt`)
            execFileSync(openssl!, [
              "req",
              "-x509",
              "-newkey",
              "rsa:2048",
              "-nodes",
              "-keyout",
              key,
              "-out",
              cert,
              "-days",
              "1",
              "-subj",
              `/CN=${service.commonName}`
            ], { stdio: "ignore" })
            start(ns, [openssl!, "s_server", "-quiet", "-accept", String(service.port), "-cert", cert, "-key", key, "-www"])
            break
          }
        }
        yield* eventually(
          `${host.name} listening on ${service.port}`,
          Effect.sync(() => exec(ns, ["ss", "-Htln", `sport = :${service.port}`]).trim() !== ""),
          Duration.seconds(10)
        )
      }
    }

    return { scannerNs, namespaces, inScanner: [IP, "netns", "exec", scannerNs], exec }
  })
