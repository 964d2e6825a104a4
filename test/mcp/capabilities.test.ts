import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { LoggingMessageNotificationSchema, McpError } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import { startServer } from "../http/fakes.js"

const connect = (base: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "vitest", version: "1.0.0" })
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)))
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const rejection = (call: () => Promise<unknown>) =>
  Effect.promise(() => call().then(() => undefined, (error: unknown) => error as McpError))

describe("MCP capabilities (real SDK client, real server, fake executor)", () => {
  it.scopedLive("advertises tools, resources, prompts, completions, logging and tasks", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const client = yield* connect(base)
      expect(client.getServerCapabilities()).toMatchObject({
        tools: { listChanged: true },
        resources: { listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
        tasks: { requests: { tools: { call: {} } } }
      })
    }), 20_000)

  it.scopedLive("serves each listed tool's flag table; an unknown URI is -32002", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const client = yield* connect(base)
      const { resources } = yield* Effect.promise(() => client.listResources())
      expect(resources.map((r) => r.uri)).toEqual(["tools://NmapTool/flags"])
      const { resourceTemplates } = yield* Effect.promise(() => client.listResourceTemplates())
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["tools://{name}/flags", "engagement://{name}"])
      const read = yield* Effect.promise(() => client.readResource({ uri: "tools://NmapTool/flags" }))
      expect(read.contents[0]).toMatchObject({
        uri: "tools://NmapTool/flags",
        mimeType: "text/markdown",
        text: expect.stringMatching(/^# NmapTool flags/)
      })
      // PingTool exists but is disabled, so it is not listed and neither is its table
      const missing = yield* rejection(() => client.readResource({ uri: "tools://PingTool/flags" }))
      expect(missing?.code).toBe(-32002)
    }), 20_000)

  it.scopedLive("offers the prompts its tools allow and renders them with their arguments", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const client = yield* connect(base)
      const { prompts } = yield* Effect.promise(() => client.listPrompts())
      expect(prompts.map((p) => p.name)).toEqual(["discover-network", "compare-with-last-scan"])
      const got = yield* Effect.promise(() => client.getPrompt({ name: "discover-network", arguments: { network: "127.0.0.0/29" } }))
      expect(got.messages[0]?.content).toMatchObject({
        type: "text",
        text: expect.stringContaining("NmapTool {\"target\":\"127.0.0.0/29\",\"template\":\"discovery\"}")
      })
      expect((yield* rejection(() => client.getPrompt({ name: "discover-network", arguments: {} })))?.message).toContain("needs network")
      expect((yield* rejection(() => client.getPrompt({ name: "audit-web-service", arguments: { target: "x" } })))?.code).toBe(-32602)
    }), 20_000)

  it.scopedLive(
    "completes prompt arguments from this session's targets and the allowed ranges, and tool names",
    () =>
      Effect.gen(function*() {
        const { base } = yield* startServer()
        const client = yield* connect(base)
        const before = yield* Effect.promise(() =>
          client.complete({ ref: { type: "ref/prompt", name: "discover-network" }, argument: { name: "network", value: "127" } })
        )
        expect(before.completion.values).toEqual(["127.0.0.1", "127.0.0.0/24"])
        yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.9" } }))
        const after = yield* Effect.promise(() =>
          client.complete({ ref: { type: "ref/prompt", name: "compare-with-last-scan" }, argument: { name: "target", value: "127" } })
        )
        expect(after.completion.values[0]).toBe("127.0.0.9")
        const templates = yield* Effect.promise(() =>
          client.complete({ ref: { type: "ref/prompt", name: "compare-with-last-scan" }, argument: { name: "template", value: "t" } })
        )
        expect(templates.completion.values).toEqual(["thorough"])
        const names = yield* Effect.promise(() =>
          client.complete({ ref: { type: "ref/resource", uri: "tools://{name}/flags" }, argument: { name: "name", value: "nm" } })
        )
        expect(names.completion.values).toEqual(["NmapTool"])
        const unknown = yield* rejection(() =>
          client.complete({ ref: { type: "ref/prompt", name: "test_prompt_with_arguments" }, argument: { name: "arg1", value: "a" } })
        )
        expect(unknown?.code).toBe(-32602)
      }),
    20_000
  )

  it.scopedLive(
    "sends a call's lifecycle as log messages at or above the level the client set, none before it sets one",
    () =>
      Effect.gen(function*() {
        const { base } = yield* startServer()
        const client = yield* connect(base)
        const messages: Array<{ level: string; data: unknown }> = []
        client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
          messages.push({ level: n.params.level, data: n.params.data })
        })
        // Before the client sets a level, nothing: it did not ask for logs.
        yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "ok" } }))
        yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "badarg" } }))
        expect(messages).toEqual([])
        yield* Effect.promise(() => client.setLoggingLevel("warning"))
        yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "ok" } }))
        yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "badarg" } }))
        expect(messages).toEqual([
          { level: "warning", data: "NmapTool did not succeed: ArgumentRejected: Flag --evil is not allowed" }
        ])
        yield* Effect.promise(() => client.setLoggingLevel("debug"))
        yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "ok" } }))
        expect(messages.at(-1)).toEqual({ level: "info", data: "NmapTool finished: 1 host up: ok" })
      }),
    20_000
  )
})
