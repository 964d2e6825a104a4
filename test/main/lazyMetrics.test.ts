import { afterAll, describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { cleanup, requireBuild, serverEnv, spawnServer, waitFor } from "../e2e/support/processes.js"

/**
 * OpenTelemetry and node:http are loaded only when used (src/main/lazyMetrics.ts):
 * the built stdio server with the separate Prometheus port on serves the
 * exposition, with counts from before the first scrape.
 */

afterAll(() => cleanup())

const message = (id: number, method: string, params: unknown) => `${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`

describe("metrics loaded on demand", () => {
  it("a stdio server's Prometheus port serves what was counted before the first scrape", async () => {
    const server = spawnServer(
      ["serve", "--transport", "stdio"],
      serverEnv({ MCP_METRICS_PROMETHEUS_ENABLED: "true", MCP_METRICS_PROMETHEUS_PORT: "0" })
    )
    let replies = ""
    server.child.stdout!.on("data", (chunk: Buffer) => (replies += chunk.toString()))
    server.child.stdin!.write(
      message(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } })
    )
    server.child.stdin!.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`)
    // Refused by the target policy before anything runs: counted as a rejection.
    server.child.stdin!.write(message(2, "tools/call", { name: "NmapTool", arguments: { target: "8.8.8.8" } }))
    const port = await waitFor(
      "the Prometheus port",
      () => /prometheus metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(server.stderr())?.[1]
    )
    await waitFor("the tools/call reply", () => (replies.includes("\"id\":2") ? true : undefined))
    const response = await fetch(`http://127.0.0.1:${port}/metrics`)
    expect(response.status).toBe(200)
    const text = await response.text()
    expect(text).toMatch(/^# (HELP|TYPE) /m)
    expect(text).toMatch(/NmapTool/)
    server.child.stdin!.end()
    expect(await server.exited).toBe(0)
  }, 30_000)
})

describe("stdio start-up", () => {
  it("answers initialize without loading node:http", () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-lazy-"))
    try {
      const seen = join(dir, "modules")
      const preload = join(dir, "record.cjs")
      // At the first reply, the built-in modules Node has loaded.
      writeFileSync(
        preload,
        `const write = process.stdout.write.bind(process.stdout); let first = true
process.stdout.write = (...args) => {
  if (first) { first = false; require("fs").writeFileSync(${JSON.stringify(seen)}, JSON.stringify(process.moduleLoadList)) }
  return write(...args)
}`
      )
      const init = message(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "t", version: "1" } })
      const run = spawnSync(process.execPath, ["-r", preload, requireBuild(), "serve", "--transport", "stdio"], {
        input: init,
        env: serverEnv(),
        encoding: "utf8",
        timeout: 20_000
      })
      expect(run.stdout).toContain("\"id\":1")
      const modules = JSON.parse(readFileSync(seen, "utf8")) as ReadonlyArray<string>
      expect(modules).toContain("NativeModule fs")
      expect(modules).not.toContain("NativeModule http")
      expect(modules).not.toContain("NativeModule _http_server")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
