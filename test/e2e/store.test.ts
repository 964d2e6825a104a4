import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { CallToolResultSchema, CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Layer, Redacted, Schedule } from "effect"
import { statSync } from "node:fs"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import { testDatabases } from "../storage/support.js"
import { makeConfigFile } from "./support/config.js"
import { fetchNpxPackage, runNpxPackage } from "./support/npx.js"
import { cleanup, type HttpServer, serverEnv, startHttpServer, startSilentListener, waitFor } from "./support/processes.js"

/**
 * The scan store through the built server: scans stored by REST, MCP and
 * MCP tasks read back after a SIGKILL and a restart (SQLite beside the
 * config file, and PostgreSQL), a scan killed mid-run marked interrupted,
 * operator switches kept, and diffs between real nmap scans of a loopback
 * listener set that changes between them. Every scan is `-n -sT -Pn` of
 * 127.0.0.1.
 */

const clients: Array<Client> = []
const servers: Array<Server> = []

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  await cleanup()
}, 30_000)

const connect = async (base: string) => {
  const client = new Client({ name: "e2e-store", version: "1.0.0" })
  clients.push(client)
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)))
  return client
}

const rest = async (base: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
  })
  return { status: response.status, body: (await response.json()) as any }
}

/** A listener on 127.0.0.1 that closes each connection gracefully (a reset makes nmap print a line per port). */
const listen = (port = 0) =>
  new Promise<{ readonly port: number; readonly close: () => Promise<void> }>((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on("error", () => undefined)
      socket.end()
    })
    servers.push(server)
    server.once("error", reject)
    server.listen(port, "127.0.0.1", () => {
      const address = server.address()
      if (address === null || typeof address === "string") return reject(new Error("no TCP address"))
      resolve({ port: address.port, close: () => new Promise<void>((done) => server.close(() => done())) })
    })
  })

const scanArgs = (ports: ReadonlyArray<number>) => ["-sT", "-Pn", "-p", ports.join(",")]

const openPorts = (structured: any): ReadonlyArray<number> =>
  structured.hosts.flatMap((h: any) => h.ports.filter((p: any) => p.state === "open").map((p: any) => p.portid))

/** Waits until the stored scan has ended (the recorder writes in the background). */
const ended = (base: string, scanId: string) =>
  waitFor(`scan ${scanId} to be stored as ended`, async () => {
    const { body, status } = await rest(base, "GET", `/scans/${scanId}`)
    return status === 200 && body.outcome !== "running" ? body : undefined
  })

/**
 * Waits until the scan's end is committed to PostgreSQL: the server answers
 * from its queued writes at once, so "ended" over REST can be a few
 * milliseconds ahead of the database, and a SIGKILL in between loses it.
 */
const committed = (url: string, scanId: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly outcome: string }>`SELECT outcome FROM scans WHERE id = ${scanId}`.pipe(
      Effect.filterOrFail((rows) => rows[0] !== undefined && rows[0].outcome !== "running"),
      Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("20 seconds")))
    )).pipe(
      Effect.provide(
        Layer.scoped(SqlClient.SqlClient, PgClient.make({ url: Redacted.make(url) })).pipe(Layer.provide(Reactivity.layer))
      ),
      Effect.orDie
    )

const sigkill = async (server: HttpServer) => {
  server.child.kill("SIGKILL")
  await server.exited
}

const config = { security: { allowed_targets: ["loopback"] }, health: { cpu_threshold: 100, memory_threshold: 100, disk_threshold: 100 } }

describe("stored scans across a SIGKILL and a restart (SQLite beside the config file)", () => {
  it("REST, MCP and task results, an interrupted scan and operator switches are there after the restart", async () => {
    const file = makeConfigFile(config)
    const { MCP_STORAGE_PATH: _private, ...env } = serverEnv({ MCP_HEALTH_CHECK_INTERVAL: "1" })
    try {
      const target = await listen()
      const first = await startHttpServer(["--config", file.path], env)
      const viaRest = await rest(first.base, "POST", "/tools/NmapTool/execute", { target: "127.0.0.1", args: scanArgs([target.port]) })
      expect(viaRest.status).toBe(200)
      const restId: string = viaRest.body.scan_id
      expect(restId).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/)

      const client = await connect(first.base)
      const viaMcp = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", args: scanArgs([target.port]) } })
      const link = (viaMcp.content as Array<any>).find((c) => c.type === "resource_link")
      expect(link).toMatchObject({ uri: expect.stringMatching(/^scan:\/\//), mimeType: "application/json" })
      const mcpId = (viaMcp.structuredContent as any).execution.scan_id as string
      expect(link.uri).toBe(`scan://${mcpId}`)

      const { task } = await client.request(
        { method: "tools/call", params: { name: "NmapTool", arguments: { target: "127.0.0.1", args: scanArgs([target.port]) } } },
        CreateTaskResultSchema,
        { task: {} }
      )
      expect(task.taskId).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/)
      for (const id of [restId, mcpId, task.taskId]) await ended(first.base, id)

      // A -sV scan of a silent port runs for a long time: the server dies under it.
      const silent = await startSilentListener()
      void rest(first.base, "POST", "/tools/NmapTool/execute", { target: "127.0.0.1", args: ["-sT", "-Pn", "-sV", "-p", String(silent)] })
        .catch(() => undefined)
      const running = await waitFor("the -sV scan to be stored as running", async () => {
        const { body } = await rest(first.base, "GET", "/scans?outcome=running")
        return body.scans[0]?.scan_id as string | undefined
      })
      expect((await rest(first.base, "POST", "/tools/PingTool/disable")).status).toBe(200)
      expect((await rest(first.base, "POST", "/tools/DigTool/circuit/open")).status).toBe(200)
      await sigkill(first)

      const second = await startHttpServer(["--config", file.path], env)
      const stored = await rest(second.base, "GET", `/scans/${restId}`)
      expect(stored.status).toBe(200)
      expect(stored.body).toMatchObject({
        scan_id: restId,
        outcome: "succeeded",
        returncode: 0,
        correlation_id: viaRest.body.correlation_id
      })
      expect(stored.body.structured).toEqual(viaRest.body.structured)
      expect(stored.body.summary).toBe(viaRest.body.summary)
      expect(openPorts(stored.body.structured)).toEqual([target.port])
      expect((await rest(second.base, "GET", `/scans/${running}`)).body).toMatchObject({ outcome: "interrupted" })

      const again = await connect(second.base)
      const read = await again.readResource({ uri: `scan://${mcpId}` })
      const record = JSON.parse(String((read.contents.find((c) => c.mimeType === "application/json") as { text?: string }).text))
      expect(record).toMatchObject({ scan_id: mcpId, outcome: "succeeded" })
      expect(openPorts(record.structured)).toEqual([target.port])
      // The task's session died with the first server: its result comes from the store.
      expect(await again.experimental.tasks.getTask(task.taskId)).toMatchObject({ taskId: task.taskId, status: "completed" })
      const taskResult = await again.experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema)
      expect(openPorts((taskResult.structuredContent as any).result)).toEqual([target.port])

      const tools = (await rest(second.base, "GET", "/tools")).body as ReadonlyArray<any>
      expect(tools.find((t) => t.name === "PingTool")).toMatchObject({ enabled: false })
      expect(tools.find((t) => t.name === "DigTool")).toMatchObject({ circuitState: "OPEN" })

      const data = join(file.dir, "data")
      expect(statSync(data).mode & 0o777).toBe(0o700)
      expect(statSync(join(data, "store.sqlite")).mode & 0o777).toBe(0o600)
      expect((await rest(second.base, "GET", "/health")).body.checks.storage).toMatchObject({ status: "healthy" })
    } finally {
      file.remove()
    }
  }, 120_000)
})

describe("diffs of real scans", () => {
  it("GET /scans/{a}/diff/{b} and ScanDiff name exactly the ports that opened and closed between two scans", async () => {
    const server = await startHttpServer([], serverEnv())
    const [stays, closes, opens] = [await listen(), await listen(), await listen()]
    const ports = [stays.port, closes.port, opens.port]
    await opens.close()
    const before = await rest(server.base, "POST", "/tools/NmapTool/execute", { target: "127.0.0.1", args: scanArgs(ports) })
    expect(openPorts(before.body.structured).slice().sort()).toEqual([stays.port, closes.port].sort())
    await closes.close()
    await listen(opens.port)
    const after = await rest(server.base, "POST", "/tools/NmapTool/execute", { target: "127.0.0.1", args: scanArgs(ports) })
    expect(openPorts(after.body.structured).slice().sort()).toEqual([stays.port, opens.port].sort())
    await ended(server.base, after.body.scan_id)

    const { body, status } = await rest(server.base, "GET", `/scans/${before.body.scan_id}/diff/${after.body.scan_id}`)
    expect(status).toBe(200)
    expect(body.diff.ports_opened.map((p: any) => [p.address, p.portid])).toEqual([["127.0.0.1", opens.port]])
    expect(body.diff.ports_closed.map((p: any) => [p.address, p.portid])).toEqual([["127.0.0.1", closes.port]])
    expect(body.diff.hosts_new).toEqual([])
    expect(body.diff.hosts_gone).toEqual([])
    expect(body.summary).toContain(`+ 127.0.0.1 ${opens.port}/tcp open`)
    expect(body.summary).toContain(`- 127.0.0.1 ${closes.port}/tcp`)

    const client = await connect(server.base)
    const viaTool = await client.callTool({ name: "ScanDiff", arguments: { scan_id: after.body.scan_id, baseline_scan_id: null } })
    expect((viaTool.structuredContent as any).comparison.diff).toEqual(body.diff)
  }, 60_000)
})

describe("the PostgreSQL backend through the real server", () => {
  const postgres = testDatabases.find((d) => d.name === "postgres")!
  it(
    "stores a scan in PostgreSQL and reads it back after a SIGKILL and a restart",
    () =>
      Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        const db = yield* postgres.make
        const env = serverEnv({ MCP_STORAGE_URL: String(db.storage?.url) })
        const target = yield* Effect.promise(() => listen())
        const first = yield* Effect.promise(() => startHttpServer([], env))
        const scan = yield* Effect.promise(() =>
          rest(first.base, "POST", "/tools/NmapTool/execute", { target: "127.0.0.1", args: scanArgs([target.port]) })
        )
        yield* Effect.promise(() => ended(first.base, scan.body.scan_id))
        expect((yield* Effect.promise(() => rest(first.base, "GET", "/health"))).body.checks.storage.message).toContain("postgres")
        yield* committed(String(db.storage?.url), scan.body.scan_id)
        yield* Effect.promise(() => sigkill(first))
        const second = yield* Effect.promise(() => startHttpServer([], env))
        const stored = yield* Effect.promise(() => rest(second.base, "GET", `/scans/${scan.body.scan_id}`))
        expect(stored.body).toMatchObject({ scan_id: scan.body.scan_id, outcome: "succeeded" })
        expect(openPorts(stored.body.structured)).toEqual([target.port])
        yield* Effect.promise(() => sigkill(second))
      }))),
    60_000
  )
})

describe("scan resources through the Inspector CLI", () => {
  const inspector = "@modelcontextprotocol/inspector@0.15.0"

  it("resources/list names a stored scan and resources/read returns it", async (ctx) => {
    const env = serverEnv()
    const unavailable = await fetchNpxPackage(inspector, env)
    if (unavailable !== undefined) ctx.skip(unavailable)
    const server = await startHttpServer([], env)
    const target = await listen()
    const scan = await rest(server.base, "POST", "/tools/NmapTool/execute", { target: "127.0.0.1", args: scanArgs([target.port]) })
    await ended(server.base, scan.body.scan_id)
    const cli = (...args: ReadonlyArray<string>) =>
      runNpxPackage(inspector, ["--cli", `${server.base}/mcp`, "--transport", "http", ...args], env)

    const listed = await cli("--method", "resources/list")
    expect(listed.code, listed.stderr + listed.stdout).toBe(0)
    const uris = (JSON.parse(listed.stdout) as { resources: ReadonlyArray<{ uri: string }> }).resources.map((r) => r.uri)
    expect(uris).toContain(`scan://${scan.body.scan_id}`)

    const read = await cli("--method", "resources/read", "--uri", `scan://${scan.body.scan_id}`)
    expect(read.code, read.stderr + read.stdout).toBe(0)
    const contents = (JSON.parse(read.stdout) as { contents: ReadonlyArray<{ mimeType: string; text: string }> }).contents
    const record = JSON.parse(contents.find((c) => c.mimeType === "application/json")!.text)
    expect(record).toMatchObject({ scan_id: scan.body.scan_id, outcome: "succeeded" })
    expect(openPorts(record.structured)).toEqual([target.port])
    expect(contents.find((c) => c.mimeType === "text/plain")!.text).toBe(scan.body.summary)

    const templates = await cli("--method", "resources/templates/list")
    expect(templates.stdout).toContain("scan://{id}/hosts/{address}")
  }, 120_000)
})
