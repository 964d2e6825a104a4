import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { Progress } from "@modelcontextprotocol/sdk/types.js"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fetchNpxPackage, runNpxPackage } from "./support/npx.js"
import {
  cleanup,
  deeplyNestedJson,
  exitWithin,
  jsonLines,
  nmapGone,
  nmapProcesses,
  nmapStarted,
  parentOf,
  requireBuild,
  serverEnv,
  spawnServer,
  startListener
} from "./support/processes.js"
import { RawStdio } from "./support/rawStdio.js"

/**
 * The built server as an MCP client launches it: a child process speaking
 * JSON-RPC on stdin/stdout. Every scan targets a listener this file opens on
 * 127.0.0.1; long scans carry a port list unique to this file (`1-N,PORT`),
 * which is how their nmap processes are found in the process table.
 */

let port = 0
let client: Client
let transport: StdioClientTransport
const markers: Array<string> = []

const marker = (range: string) => {
  const m = `${range},${port}`
  markers.push(m)
  return m
}

interface NmapPortResult {
  readonly portid: number
  readonly state: string
}

const openPorts = (structured: unknown): ReadonlyArray<number> => {
  const hosts = (structured as { result: { hosts: ReadonlyArray<{ ports: ReadonlyArray<NmapPortResult> }> } }).result.hosts
  return hosts.flatMap((h) => h.ports.filter((p) => p.state === "open").map((p) => p.portid))
}

beforeAll(async () => {
  port = await startListener()
  transport = new StdioClientTransport({
    command: process.execPath,
    args: [requireBuild(), "serve", "--transport", "stdio"],
    env: serverEnv(),
    stderr: "pipe"
  })
  client = new Client({ name: "e2e-stdio", version: "1.0.0" })
  await client.connect(transport)
}, 20_000)

afterAll(async () => {
  const pid = transport?.pid
  await client?.close()
  if (pid !== null && pid !== undefined) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // exited on close
    }
  }
  await cleanup(markers)
}, 20_000)

describe("stdio transport, SDK client", () => {
  it("lists NmapTool with its schemas and annotations", async () => {
    const { tools } = await client.listTools()
    const nmap = tools.find((t) => t.name === "NmapTool")
    expect(nmap).toBeDefined()
    expect(nmap!.inputSchema.type).toBe("object")
    expect(nmap!.inputSchema.required).toContain("target")
    expect(Object.keys(nmap!.inputSchema.properties ?? {})).toEqual(["target", "args", "template"])
    expect(nmap!.outputSchema?.type).toBe("object")
    expect(nmap!.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, openWorldHint: true })
  }, 10_000)

  it("scans a loopback listener and reports the port open, structured and in text", async () => {
    const result = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "-p", String(port)] } })
    expect(result.isError).toBe(false)
    expect(openPorts(result.structuredContent)).toEqual([port])
    const execution = (result.structuredContent as { execution: Record<string, unknown> }).execution
    expect(execution).toMatchObject({ tool: "NmapTool", returncode: 0, resolved_target: "127.0.0.1", timed_out: false })
    expect(execution["argv"]).toEqual(expect.arrayContaining(["-n", "-sT", String(port), "127.0.0.1"]))
    const text = (result.content as ReadonlyArray<{ type: string; text: string }>)[0]!.text
    expect(text).toContain(`${port}/tcp open`)
  }, 30_000)

  it("rejects a public target by policy, before anything runs", async () => {
    const result = await client.callTool({ name: "NmapTool", arguments: { target: "8.8.8.8", args: ["-sT", "-p", "53"] } })
    expect(result.isError).toBe(true)
    expect((result.structuredContent as { error: { _tag: string } }).error._tag).toBe("TargetRejected")
    expect(nmapProcesses("8.8.8.8")).toEqual([])
  }, 10_000)

  it("sends increasing progress notifications for a call with a progress token", async () => {
    const seen: Array<Progress> = []
    // ~7.5 s of probes spaced 5 ms apart: long enough for nmap's 5 s statistics.
    const result = await client.callTool(
      { name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "--scan-delay", "5ms", "-p", `1-1500,${port}`] } },
      undefined,
      { onprogress: (p) => seen.push(p), timeout: 60_000 }
    )
    expect(result.isError).toBe(false)
    expect(openPorts(result.structuredContent)).toContain(port)
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.every((p) => p.total === 100 && p.progress > 0 && p.progress <= 100)).toBe(true)
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress)
  }, 40_000)

  it("kills the scan's nmap process when the client cancels the call", async () => {
    const m = marker("1-1000")
    const controller = new AbortController()
    const call = client.callTool(
      { name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "--scan-delay", "100ms", "-p", m] } },
      undefined,
      { signal: controller.signal, timeout: 60_000 }
    ).then(() => "resolved", () => "rejected")
    const nmap = await nmapStarted(m)
    // Tools are started by the server's spawner process.
    expect(parentOf(nmap.ppid)).toBe(transport.pid)
    controller.abort("test cancels")
    expect(await call).toBe("rejected")
    await nmapGone(m, 5_000)
    const after = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "-p", String(port)] } })
    expect(after.isError).toBe(false)
  }, 30_000)
})

describe("stdio transport, raw process", () => {
  it("writes only JSON-RPC messages to stdout, logs included on stderr", async () => {
    const server = spawnServer(["serve", "--transport", "stdio"], serverEnv({ LOG_LEVEL: "DEBUG" }))
    const raw = new RawStdio(server)
    await raw.initialize()
    const calls = await Promise.all([
      raw.request("tools/list"),
      raw.request("tools/call", { name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "-p", String(port)] } }),
      raw.request("tools/call", { name: "NmapTool", arguments: { target: "8.8.8.8" } }),
      raw.request("tools/call", { name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-oN", "/tmp/x"] } }),
      raw.request("no/such/method")
    ])
    expect(calls[1]!.result.isError).toBe(false)
    expect(calls[2]!.result.structuredContent.error._tag).toBe("TargetRejected")
    expect(calls[3]!.result.structuredContent.error._tag).toBe("ArgumentRejected")
    expect(calls[4]!.error?.code).toBe(-32601)
    server.child.stdin!.end()
    expect(await exitWithin(server, 10_000)).toBe(0)
    expect(raw.partial).toBe("")
    expect(raw.lines.length).toBeGreaterThanOrEqual(6)
    for (const line of raw.lines) {
      const message = JSON.parse(line) as { jsonrpc: unknown }
      expect(message.jsonrpc).toBe("2.0")
    }
    expect(server.stderr()).toContain("serving MCP on stdio")
  }, 30_000)

  it("loads the configuration once: each start-up warning is logged once", async () => {
    const server = spawnServer(
      ["serve", "--transport", "stdio"],
      serverEnv({
        MCP_NOT_A_SETTING: "1",
        MCP_SECURITY_MAX_MEMORY_MB: "1",
        MCP_USE_ANONYMIZED_TELEMETRY: "false",
        MCP_INSPECTOR_PORT: "6274",
        MCP_PROXY_AUTH_TOKEN: "x",
        MCP_SERVER_REQUEST_TIMEOUT: "20000"
      })
    )
    const raw = new RawStdio(server)
    await raw.initialize()
    server.child.stdin!.end()
    expect(await exitWithin(server, 10_000)).toBe(0)
    const log = server.stderr()
    expect(log.split("MCP_NOT_A_SETTING is not a known setting").length - 1).toBe(1)
    expect(log.split("security.max_memory_mb: 1 is out of range").length - 1).toBe(1)
    // variables of other MCP software (mcp-use, the Inspector and its proxy) are none of this server's business
    expect(log).not.toMatch(/MCP_USE_|MCP_INSPECTOR_|MCP_PROXY_|MCP_SERVER_REQUEST_TIMEOUT/)
  }, 20_000)

  it("answers a line that is not JSON with a -32700 error and keeps serving", async () => {
    const server = spawnServer(["serve", "--transport", "stdio"])
    const raw = new RawStdio(server)
    await raw.initialize()
    server.child.stdin!.write("{not json\n")
    const alive = await raw.request("tools/list")
    expect(alive.result.tools.length).toBeGreaterThan(0)
    const errors = raw.lines.map((line) => JSON.parse(line) as { error?: { code: number } }).filter((m) => m.error !== undefined)
    expect(errors.map((m) => m.error!.code)).toEqual([-32700])
    server.child.stdin!.end()
    expect(await exitWithin(server, 10_000)).toBe(0)
  }, 20_000)

  it("serve --help prints the usage; a bad config file names each key and reason, without a stack trace", async () => {
    const help = spawnServer(["serve", "--help"])
    let out = ""
    help.child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")))
    expect(await exitWithin(help, 10_000)).toBe(0)
    expect(out).toContain("Usage:")
    const dir = mkdtempSync(join(tmpdir(), "e2e-bad-config-"))
    try {
      const file = join(dir, "config.yaml")
      writeFileSync(file, "security:\n  allowed_targets: nope\n  bogus: 1\n")
      const bad = spawnServer(["serve", "--transport", "stdio", "--config", file])
      expect(await exitWithin(bad, 10_000)).toBe(1)
      const log = bad.stderr()
      expect(log).toContain(`fatal: ${file} has invalid settings`)
      expect(log).toMatch(/^ {2}security\.bogus: is unexpected/m)
      expect(log).toMatch(/^ {2}security\.allowed_targets: .*actual "nope"/m)
      expect(log).not.toMatch(/\bat \S+ \(|main\.cjs:\d+/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 20_000)

  it("a bad config is reported before any reply; a start-up failure after initialize answers the requests that waited", async () => {
    const dir = mkdtempSync(join(tmpdir(), "e2e-late-failure-"))
    try {
      const file = join(dir, "config.yaml")
      writeFileSync(file, "security:\n  bogus: 1\n")
      const bad = spawnServer(["serve", "--transport", "stdio", "--config", file])
      const early = new RawStdio(bad)
      void early.initialize()
      expect(await exitWithin(bad, 10_000)).toBe(1)
      expect(early.lines).toEqual([])
      expect(bad.stderr()).toContain(`fatal: ${file} has invalid settings`)

      // The log file's directory does not exist: found while the services are built, after initialize was answered.
      const logFile = join(dir, "missing", "server.log")
      const late = spawnServer(["serve", "--transport", "stdio"], serverEnv({ MCP_LOGGING_FILE_PATH: logFile }))
      const raw = new RawStdio(late)
      const [init, list] = await Promise.all([raw.initialize(), raw.request("tools/list")])
      expect(init.result.serverInfo.name).toBe("security-mcp-server")
      expect(list.error?.code).toBe(-32603)
      expect(list.error?.message).toMatch(/^the server could not start: NotFound: .*missing\/server\.log/)
      expect(await exitWithin(late, 10_000)).toBe(1)
      expect(late.stderr()).toMatch(/^fatal: NotFound: .*missing\/server\.log/m)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 20_000)

  it("answers deeply nested arguments with a typed InvalidInput, and audits it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "e2e-stdio-audit-"))
    try {
      const audit = join(dir, "audit.jsonl")
      const server = spawnServer(["serve", "--transport", "stdio"], serverEnv({ MCP_SECURITY_AUDIT_LOG_PATH: audit }))
      const raw = new RawStdio(server)
      await raw.initialize()
      const answer = await raw.requestText(
        "tools/call",
        `{"name":"NmapTool","arguments":{"target":"127.0.0.1","args":${deeplyNestedJson(10_000)}}}`
      )
      expect(answer.result.isError).toBe(true)
      expect(answer.result.structuredContent.error._tag).toBe("InvalidInput")
      const alive = await raw.request("tools/list")
      expect(alive.result.tools.length).toBeGreaterThan(0)
      server.child.stdin!.end()
      expect(await exitWithin(server, 10_000)).toBe(0)
      expect(jsonLines(audit)).toMatchObject([{ decision: "rejected:InvalidInput", outcome: "rejected", target: "127.0.0.1" }])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 20_000)

  it("exits when the client closes stdin", async () => {
    const server = spawnServer(["serve", "--transport", "stdio"])
    const raw = new RawStdio(server)
    expect((await raw.initialize()).result.serverInfo.name).toBe("security-mcp-server")
    server.child.stdin!.end()
    expect(await exitWithin(server, 10_000)).toBe(0)
    expect(server.stderr()).toContain("stdin closed")
  }, 20_000)

  it("on SIGTERM mid-scan drains for the grace period, kills nmap and exits", async () => {
    const m = marker("1-999")
    const server = spawnServer(["serve", "--transport", "stdio"], serverEnv({ MCP_SERVER_SHUTDOWN_GRACE_PERIOD: "1" }))
    const raw = new RawStdio(server)
    await raw.initialize()
    raw.send("tools/call", { name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "--scan-delay", "100ms", "-p", m] } })
    const nmap = await nmapStarted(m)
    // Tools are started by the server's spawner process.
    expect(parentOf(nmap.ppid)).toBe(server.child.pid)
    server.child.kill("SIGTERM")
    expect(await exitWithin(server, 15_000)).toBe(0)
    await nmapGone(m, 5_000)
    expect(server.stderr()).toContain("SIGTERM: draining")
  }, 30_000)
})

describe("MCP Inspector CLI", () => {
  const inspector = "@modelcontextprotocol/inspector@0.15.0"

  it("lists the tools through the official inspector", async (ctx) => {
    const unavailable = await fetchNpxPackage(inspector, serverEnv())
    if (unavailable !== undefined) ctx.skip(unavailable)
    const outcome = await runNpxPackage(
      inspector,
      ["--cli", process.execPath, requireBuild(), "serve", "--transport", "stdio", "--method", "tools/list"],
      serverEnv()
    )
    expect(outcome.code, outcome.stderr).toBe(0)
    const listed = JSON.parse(outcome.stdout) as { tools: ReadonlyArray<{ name: string }> }
    expect(listed.tools.map((t) => t.name)).toContain("NmapTool")
  }, 150_000)
})
