import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect } from "effect"
import { existsSync, readFileSync, statSync } from "node:fs"
import { Agent } from "node:http"
import { join } from "node:path"
import { defaults } from "../../src/config/schema.js"
import { sha256Hex } from "../../src/http/auth.js"
import { eventually, executeHttp, httpRequest, startHttpServer } from "../support/server.js"
import { loggingShims, tempDir } from "../support/shims.js"
import { shimmedBinaries } from "./cases.js"

/**
 * Issue 13 item 5 against the built server under its shipped rate limits: a
 * client floods REST and MCP with made-up tool names, malformed input and
 * bodies that are not JSON at all.
 * /metrics does not grow with the names, and the audit log holds a line per
 * call within the client's limit plus one aggregated line per interval for
 * the rest, whose counts add up to every call made.
 */

const REST_CALLS = 500
const MCP_CALLS = 200

describe("a flood of rejected calls against the built server", () => {
  it.scopedLive("costs bounded /metrics and audit bytes over REST and MCP; every call is accounted for", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("flood")
      loggingShims(dir, shimmedBinaries)
      const audit = join(dir, "audit.log")
      const server = yield* startHttpServer({
        path: dir,
        env: { MCP_SECURITY_AUDIT_LOG_PATH: audit, MCP_SECURITY_AUDIT_REJECTIONS_INTERVAL: "1" }
      })
      const metrics = Effect.map(httpRequest(server.port, "GET", "/metrics"), (reply) => reply.text)
      const before = yield* metrics
      const agent = new Agent({ keepAlive: true, maxSockets: 16 })
      yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
      const rest = yield* Effect.forEach(
        Array.from({ length: REST_CALLS }, (_, i) => i),
        (i) =>
          i % 3 === 0
            ? executeHttp(server.port, `invented-${i}`, { target: "127.0.0.1" }, agent)
            : i % 3 === 1
            ? executeHttp(server.port, "NmapTool", { target: { not: "a string" }, junk: "x".repeat(512) }, agent)
            : httpRequest(server.port, "POST", "/tools/NmapTool/execute", {
              body: `{"target": "127.0.0.1", ${"[".repeat(i)}`,
              headers: { "content-type": "application/json" },
              agent
            }),
        { concurrency: 16 }
      )
      expect(rest.filter((reply) => ![400, 404, 429].includes(reply.status))).toEqual([])
      expect(rest.filter((reply) => reply.status === 429).length).toBeGreaterThan(REST_CALLS - defaults.rate_limit.burst - 10)

      const client = new Client({ name: "flood", version: "1.0.0" })
      yield* Effect.acquireRelease(
        Effect.promise(() => client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.port}/mcp`)))),
        () => Effect.promise(() => client.close())
      )
      const mcp = yield* Effect.forEach(
        Array.from({ length: MCP_CALLS }, (_, i) => i),
        (i) => Effect.promise(() => client.callTool({ name: `invented-mcp-${i}`, arguments: { target: "127.0.0.1" } })),
        { concurrency: 8 }
      )
      expect(mcp.every((result) => result.isError === true)).toBe(true)

      const after = yield* metrics
      expect(after).not.toMatch(/invented/)
      // A few counters gained a series (rule=RateLimited, scope=client, tool=unknown): a flood of names adds nothing per name.
      expect(after.length - before.length).toBeLessThan(4096)

      const total = REST_CALLS + MCP_CALLS
      const lines = () =>
        readFileSync(audit, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, any>)
      const accounted = () =>
        (existsSync(audit) ? lines() : []).reduce((sum, line) => sum + (line["kind"] === "rejections" ? (line["count"] as number) : 1), 0)
      yield* eventually("every call is in the audit log", Effect.sync(() => accounted() === total))
      const all = lines()
      const full = all.filter((line) => line["kind"] === "execution")
      const aggregated = all.filter((line) => line["kind"] === "rejections")
      // Full lines: the client's burst plus what its rate refilled during the flood.
      expect(full.length).toBeLessThan(defaults.rate_limit.burst + 20)
      expect(aggregated.length).toBeGreaterThan(0)
      for (const line of aggregated) {
        const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0)
        expect(sum(line["by_tool"]), JSON.stringify(line)).toBe(line["count"])
        expect(sum(line["by_reason"]), JSON.stringify(line)).toBe(line["count"])
        expect(Object.keys(line["by_tool"]).every((tool) => tool === "unknown" || tool === "NmapTool")).toBe(true)
      }
      const bytesPerCall = statSync(audit).size / total
      expect(bytesPerCall).toBeLessThan(64)
    }), 120_000)

  it.scopedLive("counts requests turned away for their key or scope in the audit log, by client and reason", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("keyflood")
      const audit = join(dir, "audit.log")
      const server = yield* startHttpServer({
        env: {
          MCP_SECURITY_AUDIT_LOG_PATH: audit,
          MCP_SECURITY_AUDIT_REJECTIONS_INTERVAL: "1",
          MCP_AUTH_API_KEYS: JSON.stringify([{ id: "agent", sha256: sha256Hex("agent-key"), scopes: ["execute"] }])
        }
      })
      const as = (key: string | undefined) => (key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } })
      const tries = [
        ...Array.from({ length: 6 }, (_, i) => httpRequest(server.port, "GET", "/scans", as(`guess-${i}`))),
        ...Array.from({ length: 3 }, () => httpRequest(server.port, "POST", "/tools/NmapTool/execute", as(undefined))),
        ...Array.from({ length: 2 }, () => httpRequest(server.port, "GET", "/audit", as("agent-key")))
      ]
      const statuses = yield* Effect.all(tries, { concurrency: 4 })
      expect(statuses.map((reply) => reply.status).sort()).toEqual([...Array(9).fill(401), 403, 403])

      const lines = () =>
        readFileSync(audit, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, any>)
      const counted = () => (existsSync(audit) ? lines() : []).filter((line) => line["kind"] === "rejections")
      yield* eventually(
        "both clients' rejections lines",
        Effect.sync(() => counted().reduce((sum, line) => sum + line["count"], 0) === 11),
        "10 seconds"
      )
      expect(
        counted().map(({ by_reason, by_tool, caller_address, caller_id, count }) => ({
          caller_id,
          caller_address,
          count,
          by_reason,
          by_tool
        })).sort((a, b) => a.count - b.count)
      ).toEqual([
        { caller_id: "agent", caller_address: "127.0.0.1", count: 2, by_reason: { Forbidden: 2 }, by_tool: { unknown: 2 } },
        { caller_id: "(no valid key)", caller_address: "127.0.0.1", count: 9, by_reason: { Unauthorized: 9 }, by_tool: { unknown: 9 } }
      ])
    }), 60_000)
})
