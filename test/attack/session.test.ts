import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { type ConfigFile, makeConfigFile } from "../e2e/support/config.js"
import { newKey } from "../e2e/support/keys.js"
import { cleanup, type HttpServer, requireBuild, serverEnv, startHttpServer, startListener, waitFor } from "../e2e/support/processes.js"

/**
 * An MCP session outlives a change of its key: what the session reads for
 * its key (stored tasks by scan id, scan update notifications, the tool
 * list) must follow the key as configured now, not as it was when the
 * session opened. The built server, real nmap (`-n` is fixed) against a
 * listener on 127.0.0.1 that this file opens.
 */

const watcher = newKey()
const other = newKey()

let config: ConfigFile
let server: HttpServer
let port = 0
const clients: Array<Client> = []

const settings = (watcherScopes: ReadonlyArray<string>) => ({
  server: { config_watch_interval: 0.2 },
  security: { allowed_targets: ["loopback"] },
  health: { cpu_threshold: 100, memory_threshold: 100, disk_threshold: 100 },
  rate_limit: { enabled: false },
  auth: {
    api_keys: [
      { id: "watcher", sha256: watcher.sha256, scopes: watcherScopes },
      { id: "other", sha256: other.sha256, scopes: ["execute"] }
    ]
  }
})

const call = (method: string, path: string, key: string, body?: unknown) =>
  fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  }).then(async (response) => ({ status: response.status, body: await response.json() as any }))

const connect = async (key: string) => {
  const client = new Client({ name: "attack-session", version: "1.0.0" })
  clients.push(client)
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } })
  )
  return client
}

beforeAll(async () => {
  requireBuild()
  port = await startListener()
  config = makeConfigFile(settings(["execute", "admin"]))
  const { MCP_SECURITY_ALLOWED_TARGETS: _ignored, ...env } = serverEnv()
  server = await startHttpServer(["--config", config.path], env)
}, 30_000)

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)))
  await cleanup()
  config.remove()
})

describe("an MCP session after its key lost the admin scope", () => {
  it("can no longer read another key's stored scan as a task", async () => {
    const ran = await call("POST", "/tools/NmapTool/execute", other.key, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] })
    expect(ran.status).toBe(200)
    const scanId: string = ran.body.scan_id
    const client = await connect(watcher.key)
    // As an admin, the session may read every key's scans, tasks included.
    expect((await client.experimental.tasks.getTask(scanId)).status).toBe("completed")

    config.write(settings(["execute"]))
    await waitFor(
      "the watcher's admin scope to be gone",
      async () => (await call("GET", "/scans?caller=other", watcher.key)).body.scans?.length === 0 ? true : undefined
    )
    await expect(client.readResource({ uri: `scan://${scanId}` })).rejects.toThrow()
    await expect(client.experimental.tasks.getTask(scanId)).rejects.toThrow(/not found/i)
    await expect(client.experimental.tasks.getTaskResult(scanId)).rejects.toThrow(/not found/i)
  }, 60_000)
})
