import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import { execFileSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type ConfigFile, makeConfigFile } from "./support/config.js"
import { fetchNpxPackage, runNpxPackage } from "./support/npx.js"
import {
  cleanup,
  deeplyNestedJson,
  exitWithin,
  type HttpServer,
  jsonLines,
  nmapGone,
  nmapStarted,
  parentOf,
  requireBuild,
  serverEnv,
  startHttpServer,
  startListener,
  startSilentListener,
  waitFor
} from "./support/processes.js"

/**
 * The built server over HTTP: MCP Streamable HTTP at /mcp, the REST API and
 * the operational endpoints, each server a real child process on a free
 * loopback port. Every scan targets a listener this file opens on 127.0.0.1.
 */

/** Health thresholds at 100 % keep a busy CI machine from turning /health red. */
const baseConfig = {
  server: { config_watch_interval: 0.2, shutdown_grace_period: 1 },
  security: { allowed_targets: ["loopback"] },
  health: { cpu_threshold: 100, memory_threshold: 100, disk_threshold: 100 }
}

/** The environment without the loopback override, so the config file's allowed_targets are in force. */
const env = () => {
  const { MCP_SECURITY_ALLOWED_TARGETS: _ignored, ...rest } = serverEnv()
  return rest
}

let port = 0
let config: ConfigFile
let server: HttpServer
const markers: Array<string> = []
const clients: Array<Client> = []

const marker = (range: string) => {
  const m = `${range},${port}`
  markers.push(m)
  return m
}

const connect = async (base: string, headers: Record<string, string> = {}) => {
  const client = new Client({ name: "e2e-http", version: "1.0.0" })
  clients.push(client)
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers } }))
  return client
}

const execute = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/tools/NmapTool/execute`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body)
  })

const openPorts = (structured: unknown): ReadonlyArray<number> =>
  (structured as { hosts: ReadonlyArray<{ ports: ReadonlyArray<{ portid: number; state: string }> }> }).hosts.flatMap((h) =>
    h.ports.filter((p) => p.state === "open").map((p) => p.portid)
  )

beforeAll(async () => {
  port = await startListener()
  config = makeConfigFile(baseConfig)
  server = await startHttpServer(["--config", config.path], env())
}, 30_000)

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
  await cleanup(markers)
  config?.remove()
}, 30_000)

describe("HTTP transport: MCP at /mcp", () => {
  it("lists NmapTool and scans a loopback listener", async () => {
    const client = await connect(server.base)
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toContain("NmapTool")
    const result = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "-p", String(port)] } })
    expect(result.isError).toBe(false)
    expect(openPorts((result.structuredContent as { result: unknown }).result)).toEqual([port])
  }, 30_000)

  it("kills the scan's nmap process when the client cancels the call", async () => {
    const m = marker("1-1000")
    const client = await connect(server.base)
    const controller = new AbortController()
    const call = client.callTool(
      { name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "--scan-delay", "100ms", "-p", m] } },
      undefined,
      { signal: controller.signal, timeout: 60_000 }
    ).then(() => "resolved", () => "rejected")
    const nmap = await nmapStarted(m)
    // Tools are started by the server's spawner process.
    expect(parentOf(nmap.ppid)).toBe(server.child.pid)
    controller.abort("test cancels")
    expect(await call).toBe("rejected")
    await nmapGone(m, 5_000)
  }, 30_000)
})

describe("HTTP transport: REST and operational endpoints", () => {
  it("POST /tools/NmapTool/execute scans the listener and returns the structured result", async () => {
    const response = await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)], correlation_id: "rest-1" })
    expect(response.status).toBe(200)
    const body = (await response.json()) as { structured: unknown; summary: string; correlation_id: string; returncode: number }
    expect(body).toMatchObject({ correlation_id: "rest-1", returncode: 0 })
    expect(openPorts(body.structured)).toEqual([port])
    expect(body.summary).toContain(`${port}/tcp open`)
  }, 30_000)

  it("answers 400 with the typed error for a public target", async () => {
    const response = await execute(server.base, { target: "8.8.8.8" })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ detail: { _tag: "TargetRejected", target: "8.8.8.8" } })
  }, 10_000)

  it("real responses conform to the schemas the OpenAPI document publishes", async () => {
    const validator = new AjvJsonSchemaValidator()
    const document = (await (await fetch(`${server.base}/openapi.json`)).json()) as { components: unknown }
    const errorsOf = (component: string, value: unknown) =>
      validator.getValidator({ $ref: `#/components/schemas/${component}`, components: document.components } as never)(value).errorMessage
    const tools = (await (await fetch(`${server.base}/tools`)).json()) as ReadonlyArray<unknown>
    expect(tools.length).toBeGreaterThan(0)
    for (const tool of tools) expect(errorsOf("ToolInfo", tool)).toBeUndefined()
    expect(errorsOf("HealthReport", await (await fetch(`${server.base}/health`)).json())).toBeUndefined()
    const scan = await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] })
    expect(errorsOf("ExecutionResult", await scan.json())).toBeUndefined()
    const rejected = await execute(server.base, { target: "8.8.8.8" })
    expect(errorsOf("Error", await rejected.json())).toBeUndefined()
  }, 30_000)

  it("GET /health answers 200", async () => {
    const response = await fetch(`${server.base}/health`)
    expect(response.status).toBe(200)
    expect(((await response.json()) as { status: string }).status).not.toBe("unhealthy")
  }, 10_000)

  it("GET /metrics counts executions with stable labels", async () => {
    await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] })
    const text = await (await fetch(`${server.base}/metrics`)).text()
    expect(text).toMatch(/^mcp_tool_execution_total\{tool="NmapTool",status="success",error_type="none"\} [1-9]\d*$/m)
    expect(text).toMatch(/^mcp_policy_rejections_total\{tool="NmapTool",rule="public_address"\} [1-9]\d*$/m)
  }, 30_000)

  it("GET /events streams execution.started and execution.finished", async () => {
    const controller = new AbortController()
    const response = await fetch(`${server.base}/events`, { signal: controller.signal })
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let received = ""
    // Subscribed once the stream has sent its first bytes; only then is the execution started.
    received += (await reader.read()).value ?? ""
    await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)], correlation_id: "sse-1" })
    while (!/event: execution\.finished\ndata: [^\n]*"sse-1"/.test(received)) {
      const { done, value } = await reader.read()
      if (done) break
      received += value
    }
    controller.abort()
    expect(received).toMatch(/event: execution\.started\ndata: [^\n]*"correlationId":"sse-1"/)
    expect(received).toMatch(/event: execution\.finished\ndata: [^\n]*"correlationId":"sse-1"[^\n]*"outcome":"success"/)
  }, 30_000)
})

describe("HTTP transport: hot reload", () => {
  const nmapEnabled = async () => {
    const tools = (await (await fetch(`${server.base}/tools`)).json()) as ReadonlyArray<{ name: string; enabled: boolean }>
    return tools.find((t) => t.name === "NmapTool")?.enabled
  }

  it("applies a changed config file without a restart and keeps the last good one on a bad edit", async () => {
    const pid = server.child.pid
    try {
      config.write({ ...baseConfig, tools: { NmapTool: { enabled: false } } })
      await waitFor("NmapTool to be disabled", async () => ((await nmapEnabled()) === false ? true : undefined))
      const disabled = await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] })
      expect(((await disabled.json()) as { detail: { _tag: string } }).detail._tag).toBe("ToolDisabled")

      config.write({ ...baseConfig, security: { allowed_targets: ["127.0.0.2/32"] } })
      await waitFor("NmapTool to be enabled again", async () => ((await nmapEnabled()) === true ? true : undefined))
      const outside = await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] })
      expect(outside.status).toBe(400)
      expect(await outside.json()).toMatchObject({ detail: { _tag: "TargetRejected", target: "127.0.0.1" } })

      config.write({ ...baseConfig, security: { allowed_targets: "not a list" } })
      await waitFor("the rejected reload to be logged", () => (server.stderr().includes("reload rejected") ? true : undefined))
      const still = await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] })
      expect(still.status).toBe(400)
    } finally {
      config.write(baseConfig)
    }
    await waitFor("the original configuration", async () => {
      const response = await execute(server.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] })
      return response.status === 200 ? true : undefined
    })
    expect(server.child.pid).toBe(pid)
    expect(server.child.exitCode).toBeNull()
  }, 30_000)
})

describe("HTTP transport: malformed input", () => {
  let guarded: HttpServer
  let guardedConfig: ConfigFile
  const audit = () => jsonLines(join(guardedConfig.dir, "audit.jsonl"))
  const mcpHeaders = { "content-type": "application/json", accept: "application/json, text/event-stream" }

  /** The JSON-RPC answer of a POST to /mcp, whether it came as JSON or as one SSE event. */
  const rpcAnswer = async (response: Response) => {
    const text = await response.text()
    // a stream also carries log messages: the answer is the event with a result or an error
    const data = text.trimStart().startsWith("{")
      ? text
      : [...text.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!).find((d) => /"(result|error)":/.test(d)) ?? "null"
    return JSON.parse(data) as { result?: { isError?: boolean; structuredContent?: { error?: { _tag: string } } } }
  }

  beforeAll(async () => {
    guardedConfig = makeConfigFile(baseConfig)
    guarded = await startHttpServer(["--config", guardedConfig.path], {
      ...env(),
      MCP_SECURITY_AUDIT_LOG_PATH: join(guardedConfig.dir, "audit.jsonl")
    })
  }, 30_000)

  afterAll(() => guardedConfig?.remove())

  it("REST: 10,000 nested arrays in args or in an unknown field are a 400 InvalidInput, audited", async () => {
    for (
      const body of [`{"target":"127.0.0.1","args":${deeplyNestedJson(10_000)}}`, `{"target":"127.0.0.2","x":${deeplyNestedJson(10_000)}}`]
    ) {
      const response = await fetch(`${guarded.base}/tools/NmapTool/execute`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body
      })
      expect(response.status).toBe(400)
      expect(await response.json()).toMatchObject({ detail: { _tag: "InvalidInput" } })
    }
    await waitFor("two audit lines", () => (audit().length >= 2 ? true : undefined))
    expect(audit()).toMatchObject([
      { decision: "rejected:InvalidInput", outcome: "rejected", target: "127.0.0.1" },
      { decision: "rejected:InvalidInput", outcome: "rejected", target: "127.0.0.2" }
    ])
  }, 30_000)

  it("MCP: deeply nested arguments are an isError InvalidInput result, audited", async () => {
    const initialize = await fetch(`${guarded.base}/mcp`, {
      method: "POST",
      headers: mcpHeaders,
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "deep", version: "1" } }
      })
    })
    const session = initialize.headers.get("mcp-session-id") ?? ""
    await initialize.text()
    const headers = { ...mcpHeaders, "mcp-session-id": session, "mcp-protocol-version": "2025-06-18" }
    await fetch(`${guarded.base}/mcp`, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })
    })
    const before = audit().length
    const call = await fetch(`${guarded.base}/mcp`, {
      method: "POST",
      headers,
      body: `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"NmapTool","arguments":{"target":"127.0.0.3","args":${
        deeplyNestedJson(10_000)
      }}}}`
    })
    expect(call.status).toBe(200)
    const answer = await rpcAnswer(call)
    expect(answer.result?.isError).toBe(true)
    expect(answer.result?.structuredContent?.error?._tag).toBe("InvalidInput")
    await waitFor("the audit line", () => (audit().length > before ? true : undefined))
    expect(audit().at(-1)).toMatchObject({ decision: "rejected:InvalidInput", outcome: "rejected", target: "127.0.0.3" })
  }, 30_000)
})

describe("HTTP transport: API keys", () => {
  const key = randomBytes(24).toString("base64url")
  let secured: HttpServer
  let securedConfig: ConfigFile

  beforeAll(async () => {
    const hashed = /sha256: ([0-9a-f]{64})/.exec(execFileSync(process.execPath, [requireBuild(), "hash-key", key], { encoding: "utf8" }))
      ?.[1]
    expect(hashed).toBeDefined()
    securedConfig = makeConfigFile({ ...baseConfig, auth: { require_auth: true, api_keys: [{ id: "e2e", sha256: hashed }] } })
    secured = await startHttpServer(["--config", securedConfig.path], env())
  }, 30_000)

  afterAll(() => securedConfig?.remove())

  it("answers 401 without a key or with a wrong one, 200 with the right key", async () => {
    expect((await fetch(`${secured.base}/tools`)).status).toBe(401)
    expect((await fetch(`${secured.base}/tools`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401)
    expect((await execute(secured.base, { target: "127.0.0.1" })).status).toBe(401)
    expect((await fetch(`${secured.base}/tools`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    const response = await execute(secured.base, { target: "127.0.0.1", args: ["-sT", "-p", String(port)] }, {
      authorization: `Bearer ${key}`
    })
    expect(response.status).toBe(200)
  }, 30_000)

  it("guards /mcp with the same keys", async () => {
    const refused = await fetch(`${secured.base}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "x", version: "1" } }
      })
    })
    expect(refused.status).toBe(401)
    const client = await connect(secured.base, { authorization: `Bearer ${key}` })
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("NmapTool")
  }, 30_000)
})

describe("HTTP transport: shutdown", () => {
  it("on SIGTERM mid-scan drains for the grace period, kills nmap and exits", async () => {
    const m = marker("1-999")
    const dying = await startHttpServer([], serverEnv({ MCP_SERVER_SHUTDOWN_GRACE_PERIOD: "1" }))
    const call = execute(dying.base, { target: "127.0.0.1", args: ["-sT", "--scan-delay", "100ms", "-p", m] }).then(
      (r) => r.status,
      () => "failed"
    )
    const nmap = await nmapStarted(m)
    // Tools are started by the server's spawner process.
    expect(parentOf(nmap.ppid)).toBe(dying.child.pid)
    dying.child.kill("SIGTERM")
    expect(await exitWithin(dying, 15_000)).toBe(0)
    await nmapGone(m, 5_000)
    expect(dying.stderr()).toContain("SIGTERM: draining")
    await call
  }, 30_000)
})

describe("MCP conformance suite", () => {
  const conformance = "@modelcontextprotocol/conformance@0.1.13"

  /**
   * Scenarios that test the suite's own demo server, not MCP: each calls a
   * tool, prompt or resource only that demo has (read in the scenario's
   * source, src/scenarios/server/*.ts at v0.1.13).
   */
  const notApplicable: Readonly<Record<string, string>> = {
    "tools-call-image": "calls the demo tool test_image_content",
    "tools-call-audio": "calls the demo tool test_audio_content",
    "tools-call-embedded-resource": "calls the demo tool test_embedded_resource",
    "tools-call-mixed-content": "calls the demo tool test_multiple_content_types",
    "tools-call-with-logging":
      "calls the demo tool test_tool_with_logging (our call lifecycle logging is tested in test/mcp/capabilities.test.ts)",
    "tools-call-with-progress": "calls the demo tool test_tool_with_progress (our progress is tested with a real -sV scan below)",
    "tools-call-sampling": "calls the demo tool test_sampling",
    "tools-call-elicitation": "calls the demo tool test_elicitation",
    "elicitation-sep1034-defaults": "calls the demo tool test_elicitation_sep1034_defaults",
    "elicitation-sep1330-enums": "calls the demo tool test_elicitation_sep1330_enums",
    "json-schema-2020-12": "looks for the demo tool json_schema_2020_12_tool",
    "server-sse-polling":
      "calls the demo tool test_reconnection, which closes its stream mid-call (our resumability is tested in test/mcp/mcpHttp.test.ts)",
    "completion-complete":
      "completes the demo prompt test_prompt_with_arguments, which we answer -32602 as the spec asks for an unknown prompt",
    "resources-read-text": "reads the demo resource test://static-text",
    "resources-read-binary": "reads the demo resource test://static-binary",
    "resources-templates-read": "reads the demo resource template test://template/{id}/data",
    "prompts-get-simple": "gets the demo prompt test_simple_prompt",
    "prompts-get-with-args": "gets the demo prompt test_prompt_with_arguments",
    "prompts-get-embedded-resource": "gets the demo prompt test_prompt_with_embedded_resource",
    "prompts-get-with-image": "gets the demo prompt test_prompt_with_image"
  }

  const listScenarios = async (env: Record<string, string>) => {
    const listed = await runNpxPackage(conformance, ["list"], env)
    const server = listed.stdout.split(/Client scenarios/)[0] ?? ""
    return [...server.matchAll(/^\s+- (\S+)$/gm)].map((m) => m[1]!)
  }

  /** Each scenario's checks, from the result directories of one `--suite all` run. */
  const checksIn = (dir: string): Record<string, ReadonlyArray<{ status: string; name: string; errorMessage?: string }>> =>
    Object.fromEntries(
      readdirSync(dir).map((entry) => [
        entry.replace(/^server-/, "").replace(/-\d{4}-\d\d-\d\dT.*$/, ""),
        JSON.parse(readFileSync(join(dir, entry, "checks.json"), "utf8"))
      ])
    )

  it("passes every scenario that applies, in one run of the whole suite against a default server", async (ctx) => {
    const env = serverEnv()
    const unavailable = await fetchNpxPackage(conformance, env)
    if (unavailable !== undefined) ctx.skip(unavailable)
    const defaultServer = await startHttpServer([], env)
    const out = mkdtempSync(join(tmpdir(), "conformance-"))
    try {
      const scenarios = await listScenarios(env)
      expect(scenarios.length).toBeGreaterThan(20)
      const outcome = await runNpxPackage(
        conformance,
        ["server", "--url", `${defaultServer.base}/mcp`, "--suite", "all", "-o", out],
        env,
        240_000
      )
      const checks = checksIn(out)
      expect(Object.keys(checks).sort(), outcome.stdout.slice(-2000)).toEqual([...scenarios].sort())
      const failed = (name: string) => checks[name]!.filter((c) => c.status === "FAILURE")
      const applicable = scenarios.filter((name) => !(name in notApplicable))
      // Subscriptions to any URI are accepted (a scan about to start, a target's history), so the demo's URI is watched too.
      expect(applicable).toEqual(
        expect.arrayContaining([
          "server-initialize",
          "ping",
          "tools-list",
          "logging-set-level",
          "resources-list",
          "resources-subscribe",
          "resources-unsubscribe",
          "prompts-list"
        ])
      )
      for (const name of applicable) {
        expect(failed(name), `${name}: ${JSON.stringify(failed(name))}`).toEqual([])
        expect(checks[name]!.some((c) => c.status === "SUCCESS"), name).toBe(true)
      }
    } finally {
      rmSync(out, { recursive: true, force: true })
    }
  }, 300_000)
})

describe("real MCP clients against a default HTTP server", () => {
  const inspector = "@modelcontextprotocol/inspector@0.15.0"

  // The shipped cap is 16 sessions per client; a cap of 4 takes the same path in a third of the connections (~2 s each).
  it(
    "10 Inspector CLI connections in a row all succeed past a cap of 4 sessions per client: sessions that are never closed do not lock a client out",
    async (ctx) => {
      const env = serverEnv()
      const unavailable = await fetchNpxPackage(inspector, env)
      if (unavailable !== undefined) ctx.skip(unavailable)
      const fewSessions = makeConfigFile({ server: { mcp_sessions_per_client: 4 } })
      const capped = await startHttpServer(["--config", fewSessions.path], env)
      for (let i = 0; i < 10; i++) {
        const outcome = await runNpxPackage(inspector, [
          "--cli",
          `${capped.base}/mcp`,
          "--transport",
          "http",
          "--method",
          "tools/list"
        ], env)
        expect(outcome.code, `connection ${i + 1}: ${outcome.stderr}${outcome.stdout}`).toBe(0)
        expect((JSON.parse(outcome.stdout) as { tools: ReadonlyArray<{ name: string }> }).tools.map((t) => t.name)).toContain("NmapTool")
      }
      expect(capped.stderr()).toContain("closed idle MCP session")
      fewSessions.remove()
    },
    120_000
  )

  // nmap reports progress every 5 s (the tool's fixed --stats-every): an 8 s timeout holds only while each report resets it.
  it("a 27-second -sV scan completes through an SDK client with an 8 s timeout that resets on progress", async () => {
    const silent = await startSilentListener()
    const client = await connect(server.base)
    const seen: Array<{ progress: number; message?: string }> = []
    const started = performance.now()
    const result = await client.callTool(
      { name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-sT", "-sV", "--version-intensity", "1", "-p", String(silent)] } },
      undefined,
      { timeout: 8_000, resetTimeoutOnProgress: true, onprogress: (p) => seen.push(p) }
    )
    expect(performance.now() - started).toBeGreaterThan(8_000)
    expect(result.isError, JSON.stringify(result.content)).toBe(false)
    expect(seen.length).toBeGreaterThan(3)
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress)
    expect(seen.some((p) => /^NmapTool: Service scan \d+\.\d%/.test(p.message ?? ""))).toBe(true)
  }, 90_000)

  it("a config reload that changes the tool list sends notifications/tools/list_changed", async () => {
    const client = await connect(server.base)
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()))
    await client.listTools()
    try {
      config.write({ ...baseConfig, tools: { PingTool: { enabled: false } } })
      await changed
      expect((await client.listTools()).tools.map((t) => t.name)).not.toContain("PingTool")
    } finally {
      config.write(baseConfig)
    }
  }, 30_000)
})
