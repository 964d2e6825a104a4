import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect } from "effect"
import { modelFacingTokens, TOKEN_BUDGET } from "../../bench/toolList.js"
import { schedulesTool } from "../../src/mcp/schedules.js"
import { makeConfigFile } from "../e2e/support/config.js"
import { geminiProblems, openAiStrictProblems } from "../mcp/support/schemaSubsets.js"
import { eventually, startHttpServer } from "../support/server.js"
import { openPort, WATCHER_KEY, watcherKey } from "./support.js"

/**
 * The Schedules MCP tool with a real MCP client against the built server:
 * lean enough for the tool list's budget, offered only to keys with the
 * schedule scope, and a scheduled scan tells subscribers of the target's
 * history (notifications/resources/updated).
 */

const nulls = { schedule_id: null, name: null, tool: null, target: null, args: null, cron: null, interval: null }

describe("the Schedules MCP tool", () => {
  it("fits the tool list's token budget in the strict function-calling subsets", () => {
    expect(modelFacingTokens(schedulesTool)).toBeLessThanOrEqual(TOKEN_BUDGET)
    expect(openAiStrictProblems(schedulesTool.inputSchema)).toEqual([])
    expect(geminiProblems(schedulesTool.inputSchema)).toEqual([])
  })

  it.scopedLive("creates, lists and deletes schedules as the key; a run updates history:// subscribers", () =>
    Effect.gen(function*() {
      const listener = yield* openPort()
      const config = makeConfigFile({
        server: { transport: "http", host: "127.0.0.1", port: 0 },
        auth: { api_keys: [watcherKey, { ...watcherKey, id: "reader", sha256: "b".repeat(64), scopes: ["execute"] }] },
        watch: { poll_interval: 0.1, min_interval: 1 }
      })
      yield* Effect.addFinalizer(() => Effect.sync(config.remove))
      const server = yield* startHttpServer({ configFile: config.path })
      const client = new Client({ name: "watch-test", version: "1.0.0" })
      const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.port}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${WATCHER_KEY}` } }
      })
      yield* Effect.acquireRelease(Effect.promise(() => client.connect(transport)), () => Effect.promise(() => client.close()))
      const updated: Array<string> = []
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri))
      const tools = yield* Effect.promise(() => client.listTools())
      expect(tools.tools.map((t) => t.name)).toContain("Schedules")
      yield* Effect.promise(() => client.subscribeResource({ uri: "history://127.0.0.1" }))

      const call = (args: Record<string, unknown>) =>
        Effect.promise(() => client.callTool({ name: "Schedules", arguments: { ...nulls, ...args } }))
      const created = yield* call({
        action: "create",
        name: "mcp-ports",
        tool: "NmapTool",
        target: "127.0.0.1",
        args: ["-n", "-sT", "-Pn", "-p", String(listener.port)],
        interval: 1
      })
      expect(created.isError, JSON.stringify(created.content)).toBeFalsy()
      const id = (created.structuredContent as any).schedule.schedule_id as string
      expect((created.structuredContent as any).schedule).toMatchObject({ owner: "watcher", source: "api" })

      yield* eventually(
        "history://127.0.0.1 updated by a scheduled run",
        Effect.sync(() => updated.includes("history://127.0.0.1")),
        Duration.seconds(30)
      )
      const listed = yield* call({ action: "list" })
      expect((listed.structuredContent as any).schedules.map((s: any) => s.schedule_id)).toEqual([id])
      const removed = yield* call({ action: "delete", schedule_id: id })
      expect(removed.isError).toBeFalsy()
      const gone = yield* call({ action: "get", schedule_id: id })
      expect(gone.isError).toBe(true)
      expect((gone.structuredContent as any).error._tag).toBe("ScheduleNotFound")
      const invalid = yield* call({ action: "create", name: "x", tool: "NmapTool", target: "127.0.0.1", cron: "* *" })
      expect((invalid.structuredContent as any).error._tag).toBe("ScheduleInvalid")
    }), { timeout: 90_000 })
})
