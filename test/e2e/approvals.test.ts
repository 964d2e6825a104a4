import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { CallToolResultSchema, CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js"
import { join } from "node:path"
import { privateStorageEnv } from "../support/storage.js"
import { type ConfigFile, makeConfigFile } from "./support/config.js"
import { newKey } from "./support/keys.js"
import {
  cleanup,
  type HttpServer,
  jsonLines,
  requireBuild,
  serverEnv,
  serverPath,
  startHttpServer,
  startListener,
  waitFor
} from "./support/processes.js"

/**
 * Engagements and approvals on the built server, its real SQLite store and
 * real nmap, scanning only a listener this file opens on 127.0.0.1 (`-n` is
 * always among nmap's fixed arguments). The engagement `lab` holds every
 * intrusive call for a second person's approval.
 */

const requester = newKey()
const approver = newKey()
const admin = newKey()
const outsider = newKey()

let port = 0
let config: ConfigFile
let server: HttpServer
const clients: Array<Client> = []

const settings = () => ({
  server: { config_watch_interval: 0.2, shutdown_grace_period: 1 },
  security: { allowed_targets: ["loopback"], allow_intrusive: true, audit_log_path: join(config.dir, "audit.jsonl") },
  health: { cpu_threshold: 100, memory_threshold: 100, disk_threshold: 100 },
  rate_limit: { enabled: false },
  auth: {
    api_keys: [
      // The requester holds the approve scope as well: it still cannot approve its own request.
      { id: "requester", sha256: requester.sha256, scopes: ["execute", "intrusive", "approve"], engagements: ["lab"] },
      { id: "approver", sha256: approver.sha256, scopes: ["approve"], engagements: ["lab"] },
      { id: "admin", sha256: admin.sha256, scopes: ["admin"] },
      { id: "outsider", sha256: outsider.sha256, scopes: ["execute", "intrusive"] }
    ]
  },
  engagements: [{
    name: "lab",
    description: "loopback lab",
    targets: ["127.0.0.1"],
    tiers: ["passive", "safe", "intrusive"],
    max_rate: { packets_per_second: 500 },
    approval: "intrusive"
  }]
})

/** One store for every server this file starts: a restart must find the approvals of the one before. */
const storage = privateStorageEnv()

/** The environment without the loopback override, so the config file's settings are in force. */
const env = () => {
  const { MCP_SECURITY_ALLOWED_TARGETS: _ignored, ...rest } = serverEnv()
  return { ...rest, ...storage }
}

const start = () => startHttpServer(["--config", config.path], env())

const call = (method: string, path: string, key: string, body?: unknown) =>
  fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  }).then(async (response) => ({ status: response.status, body: await response.json() as any }))

/** An intrusive scan of the listener: ftp-brute is a brute-force script (intrusive), and finds no FTP service to run against. */
const intrusiveScan = (extra: ReadonlyArray<string> = []) => ({
  target: "127.0.0.1",
  args: ["-sT", "-p", String(port), "--script", "ftp-brute", ...extra]
})

const execute = (key: string, input: unknown) => call("POST", "/tools/NmapTool/execute", key, input)

const connect = async (key: string) => {
  const client = new Client({ name: "e2e-approvals", version: "1.0.0" })
  clients.push(client)
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } })
  )
  return client
}

const approve = (id: string, key = approver.key) => call("POST", `/approvals/${id}/approve`, key, { reason: "lab host, agreed" })

beforeAll(async () => {
  requireBuild()
  port = await startListener()
  config = makeConfigFile({})
  config.write(settings())
  server = await start()
}, 30_000)

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)))
  await cleanup()
  config.remove()
})

describe("engagements and approvals over REST", () => {
  it(
    "an intrusive scan waits; its requester cannot approve it; a second key does; the retry runs exactly the approved argv, once",
    async () => {
      const waiting = await execute(requester.key, intrusiveScan())
      expect(waiting.status).toBe(428)
      const detail = waiting.body.detail
      expect(detail).toMatchObject({ _tag: "ApprovalRequired", status: "pending" })
      expect(detail.approval).toMatchObject({ requested_by: "requester", engagement: "lab", intrusive: true, resolved_target: "127.0.0.1" })
      expect(detail.approval.argv).toEqual(expect.arrayContaining(["-n", "--script", "--max-rate", "500"]))
      const id: string = detail.approval_id
      const audit = () => jsonLines(join(config.dir, "audit.jsonl"))
      expect(audit().some((line) => line["outcome"] === "started")).toBe(false)

      const self = await approve(id, requester.key)
      expect(self.status).toBe(403)
      expect(self.body.detail.message).toContain("requested this call, so it cannot approve")
      expect((await call("POST", `/approvals/${id}/approve`, outsider.key, { reason: "x" })).status).toBe(403)
      expect((await call("GET", `/approvals/${id}`, outsider.key)).status).toBe(404)

      const approved = await approve(id)
      expect(approved.status).toBe(200)
      expect(approved.body).toMatchObject({ status: "approved", decided_by: "approver", reason: "lab host, agreed" })
      expect((await approve(id)).status).toBe(409)

      const changed = await execute(requester.key, { ...intrusiveScan(["-T4"]), approval_id: id })
      expect(changed.status).toBe(403)
      expect(changed.body.detail).toMatchObject({ _tag: "ApprovalRefused", rule: "digest_mismatch" })

      const ran = await execute(requester.key, { ...intrusiveScan(), approval_id: id })
      expect(ran.status).toBe(200)
      // What ran is the approved command line, behind the runner's own protections (setpriv, prlimit).
      const argv: ReadonlyArray<string> = ran.body.metadata.argv
      expect(argv.slice(argv.length - detail.approval.argv.length)).toEqual(detail.approval.argv)
      expect(ran.body.metadata).toMatchObject({ approval_id: id, approved_by: "approver", engagement: "lab" })
      expect(ran.body.structured.hosts[0].ports).toEqual([expect.objectContaining({ portid: port, state: "open" })])

      const reused = await execute(requester.key, { ...intrusiveScan(), approval_id: id })
      expect(reused.body.detail).toMatchObject({ _tag: "ApprovalRefused", rule: "used" })
      expect((await call("GET", `/approvals/${id}`, requester.key)).body.status).toBe("used")

      const lines = audit().filter((line) => line["approval_id"] === id)
      expect(lines.map((line) => [line["decision"], line["outcome"], line["caller_id"]])).toEqual([
        ["approval:requested", "pending", "requester"],
        ["approval:approved", "approved", "approver"],
        ["allowed", "started", "requester"],
        ["allowed", "success", "requester"]
      ])
      for (const line of lines) {
        expect(line).toMatchObject({
          requested_by: "requester",
          engagement: "lab",
          engagement_hash: detail.approval.engagement_hash
        })
      }
      expect(lines.slice(1).every((line) => line["decided_by"] === "approver")).toBe(true)
      expect(lines[2]?.["argv"]).toEqual(detail.approval.argv)
    },
    60_000
  )

  it("approval.requested and approval.decided reach /events", async () => {
    const controller = new AbortController()
    const response = await fetch(`${server.base}/events`, { signal: controller.signal, headers: { authorization: `Bearer ${admin.key}` } })
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let received = (await reader.read()).value ?? ""
    const id: string = (await execute(requester.key, intrusiveScan())).body.detail.approval_id
    await call("POST", `/approvals/${id}/deny`, approver.key, { reason: "not during the demo" })
    while (!received.includes("event: approval.decided")) {
      const { done, value } = await reader.read()
      if (done) break
      received += value
    }
    controller.abort()
    expect(received).toMatch(new RegExp(`event: approval\\.requested\ndata: [^\n]*"approvalId":"${id}"[^\n]*"requestedBy":"requester"`))
    expect(received).toMatch(new RegExp(`event: approval\\.decided\ndata: [^\n]*"decision":"denied","decidedBy":"approver"`))
    const refused = await execute(requester.key, { ...intrusiveScan(), approval_id: id })
    expect(refused.body.detail).toMatchObject({ _tag: "ApprovalRefused", rule: "denied" })
  }, 30_000)

  it("GET /engagements is for admins; a call outside the engagement's scope is refused", async () => {
    const listed = await call("GET", "/engagements", admin.key)
    expect(listed.status).toBe(200)
    expect(listed.body).toEqual([expect.objectContaining({ name: "lab", hash: expect.stringMatching(/^[0-9a-f]{64}$/) })])
    expect((await call("GET", "/engagements", requester.key)).status).toBe(403)
    const outside = await execute(requester.key, { target: "127.0.0.2", args: ["-sT", "-p", String(port)] })
    expect(outside.status).toBe(400)
    expect(outside.body.detail).toMatchObject({ _tag: "TargetRejected", rule: "outside_engagement" })
    const pending = await call("GET", "/approvals?status=pending", approver.key)
    expect(pending.status).toBe(200)
  }, 30_000)
})

describe("engagements and approvals over MCP", () => {
  it("without tasks: an isError ApprovalRequired result; after approval, the same call with approval_id runs", async () => {
    const client = await connect(requester.key)
    const { tools } = await client.listTools()
    const nmap = tools.find((tool) => tool.name === "NmapTool")
    expect(Object.keys(nmap?.inputSchema.properties ?? {})).toContain("approval_id")
    const first = await client.callTool({ name: "NmapTool", arguments: intrusiveScan() })
    expect(first.isError).toBe(true)
    const error = (first.structuredContent as { error: { _tag: string; approval_id: string } }).error
    expect(error._tag).toBe("ApprovalRequired")
    expect((await approve(error.approval_id)).status).toBe(200)
    const second = await client.callTool({ name: "NmapTool", arguments: { ...intrusiveScan(), approval_id: error.approval_id } })
    expect(second.isError).toBe(false)
    expect(second.structuredContent).toMatchObject({ execution: { approval_id: error.approval_id, approved_by: "approver" } })
    const resource = await client.readResource({ uri: "engagement://lab" })
    expect(JSON.parse((resource.contents[0] as { text: string }).text)).toMatchObject({ name: "lab", approval: "intrusive" })
  }, 60_000)

  it("with a task: the task stays working while it waits, then runs once approved", async () => {
    const client = await connect(requester.key)
    const { task } = await client.request(
      { method: "tools/call", params: { name: "NmapTool", arguments: intrusiveScan() } },
      CreateTaskResultSchema,
      { task: {} }
    )
    const waiting = await waitFor("the task to wait for approval", async () => {
      const current = await client.experimental.tasks.getTask(task.taskId)
      return current.statusMessage?.startsWith("Waiting for approval") ? current : undefined
    })
    expect(waiting.status).toBe("working")
    const pending = await call("GET", "/approvals?status=pending", approver.key)
    const id = pending.body.find((a: { requested_by: string }) => a.requested_by === "requester").approval_id
    expect(waiting.statusMessage).toContain(id)
    expect((await approve(id)).status).toBe(200)
    const done = await waitFor("the task to finish", async () => {
      const current = await client.experimental.tasks.getTask(task.taskId)
      return current.status === "working" ? undefined : current
    }, 30_000)
    expect(done.status).toBe("completed")
    const result = await client.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema)
    expect(result.structuredContent).toMatchObject({ execution: { approval_id: id, approved_by: "approver" } })
  }, 60_000)

  it("a key outside the engagement cannot read it", async () => {
    const client = await connect(outsider.key)
    await expect(client.readResource({ uri: "engagement://lab" })).rejects.toThrow(/not found/i)
  }, 30_000)
})

describe("a restart", () => {
  it("keeps a pending approval, which is then approved and run", async () => {
    const waiting = await execute(requester.key, intrusiveScan())
    const id: string = waiting.body.detail.approval_id
    server.child.kill("SIGTERM")
    await server.exited
    server = await start()
    expect((await call("GET", `/approvals/${id}`, approver.key)).body.status).toBe("pending")
    expect((await approve(id)).status).toBe(200)
    const ran = await execute(requester.key, { ...intrusiveScan(), approval_id: id })
    expect(ran.status).toBe(200)
    expect(ran.body.metadata.approval_id).toBe(id)
  }, 60_000)
})

describe("stdio bound to an engagement", () => {
  it("serve --engagement NAME: the operator's calls act in it, inside its scope only", async () => {
    const stdioConfig = makeConfigFile({
      security: { allowed_targets: ["loopback"] },
      health: { cpu_threshold: 100, memory_threshold: 100, disk_threshold: 100 },
      engagements: [{ name: "lab", targets: ["127.0.0.1"], approval: "none" }]
    })
    const client = new Client({ name: "e2e-stdio-engagement", version: "1.0.0" })
    clients.push(client)
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [serverPath, "serve", "--transport", "stdio", "--config", stdioConfig.path, "--engagement", "lab"],
        env: env(),
        stderr: "pipe"
      })
    )
    try {
      const { tools } = await client.listTools()
      const properties = Object.keys(tools.find((tool) => tool.name === "NmapTool")?.inputSchema.properties ?? {})
      expect(properties).not.toContain("engagement")
      expect(properties).not.toContain("approval_id")
      const inside = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "-p", String(port)] } })
      expect(inside.isError).toBe(false)
      expect(inside.structuredContent).toMatchObject({ execution: { engagement: "lab", approval_id: null } })
      const outside = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.2", args: ["-sT", "-p", String(port)] } })
      expect(outside.structuredContent).toMatchObject({ error: { _tag: "TargetRejected", rule: "outside_engagement" } })
      const other = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", engagement: "elsewhere" } })
      expect(other.structuredContent).toMatchObject({ error: { _tag: "EngagementRejected", rule: "engagement_not_allowed" } })
    } finally {
      await client.close()
      stdioConfig.remove()
    }
  }, 60_000)
})
