import { describe, expect, it } from "@effect/vitest"
import { EXTENSION_ID, RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from "@modelcontextprotocol/ext-apps/server"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { APP_MIME_TYPE, APPS_EXTENSION, SCAN_VIEWER_URI, supportsApps, withViewer } from "../../src/mcp/mcpApp.js"
import { startHttpServer, startStdioServer } from "../support/server.js"
import { appsCapabilities, loopbackListener, openPortsOf, scanLoopback } from "./support.js"

/**
 * The MCP Apps wiring through the real SDK client against the built server
 * (stdio): a client that negotiates the extension is told about the viewer,
 * every other client sees exactly what it saw before.
 */

const VIEWER_HTML = readFileSync(fileURLToPath(new URL("../../dist/scan-viewer.html", import.meta.url)), "utf8")

const withoutMeta = ({ _meta: _ignored, ...tool }: Tool) => tool

const errorCode = (promise: Promise<unknown>) => promise.then(() => undefined, (e: { code?: number }) => e.code)

/** An MCP Apps client of the built HTTP server's /mcp, closed with the scope. */
const httpClient = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "apps-host", version: "1.0.0" }, { capabilities: appsCapabilities })
      await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp`)))
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const viewerTools = (tools: ReadonlyArray<Tool>) => tools.filter((t) => t._meta?.["ui"] !== undefined).map((t) => t.name).sort()

describe("MCP Apps: the scan viewer", () => {
  it("speaks the extension's own vocabulary (ext-apps constants)", () => {
    expect([APPS_EXTENSION, APP_MIME_TYPE]).toEqual([EXTENSION_ID, RESOURCE_MIME_TYPE])
    expect(withViewer({ name: "NmapTool", inputSchema: { type: "object" } })._meta).toEqual({
      ui: { resourceUri: SCAN_VIEWER_URI },
      [RESOURCE_URI_META_KEY]: SCAN_VIEWER_URI
    })
    expect(withViewer({ name: "PingTool", inputSchema: { type: "object" } })).not.toHaveProperty("_meta")
    expect(supportsApps(appsCapabilities)).toBe(true)
    expect(supportsApps({})).toBe(false)
    expect(supportsApps(undefined)).toBe(false)
    expect(supportsApps({ extensions: { [APPS_EXTENSION]: { mimeTypes: ["text/uri-list"] } } })).toBe(false)
    expect(supportsApps({ extensions: { [APPS_EXTENSION]: {} } })).toBe(false)
  })

  it.scopedLive(
    "a client that negotiates it: NmapTool and ScanDiff name the ui:// resource, which reads as the app's HTML",
    () =>
      Effect.gen(function*() {
        const { client } = yield* startStdioServer({ clientCapabilities: appsCapabilities })
        const { tools } = yield* Effect.promise(() => client.listTools())
        const uiOf = (name: string) => tools.find((t) => t.name === name)?._meta
        expect(uiOf("NmapTool")).toEqual({ ui: { resourceUri: SCAN_VIEWER_URI }, "ui/resourceUri": SCAN_VIEWER_URI })
        expect(uiOf("ScanDiff")).toEqual({ ui: { resourceUri: SCAN_VIEWER_URI }, "ui/resourceUri": SCAN_VIEWER_URI })
        expect(tools.filter((t) => t._meta !== undefined).map((t) => t.name).sort()).toEqual(["NmapTool", "ScanDiff"])

        const { resources } = yield* Effect.promise(() => client.listResources())
        expect(resources.find((r) => r.uri === SCAN_VIEWER_URI)).toMatchObject({ mimeType: APP_MIME_TYPE, name: "scan-viewer" })
        const read = yield* Effect.promise(() => client.readResource({ uri: SCAN_VIEWER_URI }))
        expect(read.contents).toHaveLength(1)
        const [content] = read.contents
        expect(content).toMatchObject({ uri: SCAN_VIEWER_URI, mimeType: RESOURCE_MIME_TYPE })
        expect(content).toHaveProperty("text", VIEWER_HTML)
        expect(VIEWER_HTML).toMatch(/^<!doctype html>/i)
        // Self-contained: no external script, style sheet or image, and it declares that it needs no origin.
        expect(VIEWER_HTML).not.toMatch(/<script[^>]+src=|<link[^>]+href=|<img[^>]+src=["']?https?:/i)
        expect(content!._meta).toEqual({
          ui: { csp: { connectDomains: [], resourceDomains: [], frameDomains: [], baseUriDomains: [] }, prefersBorder: true }
        })
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "a client without it: the same tool list, resources and results as before, and no ui:// resource",
    () =>
      Effect.gen(function*() {
        const port = yield* loopbackListener()
        const apps = yield* startStdioServer({ clientCapabilities: appsCapabilities })
        const plain = yield* startStdioServer()
        const other = yield* startStdioServer({ clientCapabilities: { extensions: { "example.com/other": {} } } })
        const [withApps, without, withOther] = yield* Effect.promise(() =>
          Promise.all([apps.client.listTools(), plain.client.listTools(), other.client.listTools()])
        )
        expect(without.tools.filter((t) => t._meta !== undefined)).toEqual([])
        expect(without.tools).toEqual(withApps.tools.map(withoutMeta))
        expect(withOther.tools).toEqual(without.tools)

        const { resources } = yield* Effect.promise(() => plain.client.listResources())
        expect(resources.map((r) => r.uri).filter((uri) => uri.startsWith("ui://"))).toEqual([])
        expect(yield* Effect.promise(() => errorCode(plain.client.readResource({ uri: SCAN_VIEWER_URI })))).toBe(-32002)
        const templates = yield* Effect.promise(() => plain.client.listResourceTemplates())
        expect(templates.resourceTemplates.map((t) => t.uriTemplate).filter((uri) => uri.startsWith("ui://"))).toEqual([])

        // A tool result is the same for both: text and structured content, no UI metadata (the host adds the view).
        const [a, b] = [yield* scanLoopback(apps, [port]), yield* scanLoopback(plain, [port])]
        for (const result of [a, b]) {
          expect(result.isError).toBe(false)
          expect(openPortsOf(result)).toEqual([port])
          expect(result).not.toHaveProperty("_meta")
          expect((result.structuredContent as { execution: { argv: Array<string> } }).execution.argv).toContain("-n")
        }
        expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort())
        expect(a.content.map((c) => c.type)).toEqual(b.content.map((c) => c.type))
      }),
    { timeout: 60_000 }
  )

  it.scopedLive(
    "over HTTP: a session negotiates it like stdio; a stateless request has no session, so never gets it",
    () =>
      Effect.gen(function*() {
        const sessions = yield* startHttpServer()
        const stateless = yield* startHttpServer({ env: { MCP_SERVER_MCP_STATELESS: "true" } })
        const [withSession, without] = [yield* httpClient(sessions.port), yield* httpClient(stateless.port)]
        expect(viewerTools((yield* Effect.promise(() => withSession.listTools())).tools)).toEqual(["NmapTool", "ScanDiff"])
        const read = yield* Effect.promise(() => withSession.readResource({ uri: SCAN_VIEWER_URI }))
        expect(read.contents[0]).toHaveProperty("text", VIEWER_HTML)
        expect(viewerTools((yield* Effect.promise(() => without.listTools())).tools)).toEqual([])
        expect(yield* Effect.promise(() => errorCode(without.readResource({ uri: SCAN_VIEWER_URI })))).toBe(-32002)
      }),
    { timeout: 60_000 }
  )
})
