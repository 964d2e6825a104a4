import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect } from "effect"
import { modelFacingTokens, TOKEN_BUDGET } from "../../bench/toolList.js"
import { historyReportUri, scanReportTool } from "../../src/mcp/reports.js"
import { authPatch, keys, startServer } from "../http/fakes.js"
import { geminiProblems, openAiStrictProblems } from "../mcp/support/schemaSubsets.js"
import { seedScan } from "../support/scans.js"
import { nmapXml, xmlEscape } from "../tools/nmap/generate.js"
import { foreignMarkup, HOSTILE, seedXml } from "./support.js"

/** Reports over MCP: the report:// resources and the ScanReport tool, through the SDK client against the real HTTP server. */

const connect = (base: string, key: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const client = new Client({ name: "vitest-reports", version: "1.0.0" })
      await client.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } })
      )
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const read = (client: Client, uri: string) =>
  Effect.promise(() => client.readResource({ uri }).then((r) => r.contents[0] as { uri: string; mimeType: string; text: string }))

const readError = (client: Client, uri: string) =>
  Effect.promise(() => client.readResource({ uri }).then(() => undefined, (error: { code: number }) => error.code))

describe("MCP: reports", () => {
  it("ScanReport fits the tool-list budget with a strict-mode schema, read-only and closed-world", () => {
    expect(modelFacingTokens(scanReportTool)).toBeLessThanOrEqual(TOKEN_BUDGET)
    expect(openAiStrictProblems(scanReportTool.inputSchema)).toEqual([])
    expect(geminiProblems(scanReportTool.inputSchema)).toEqual([])
    expect(scanReportTool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, openWorldHint: false })
  })

  it.scopedLive("report:// resources in every form, for the caller who may read the scan", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const xml = nmapXml([{
        address: "127.0.0.1",
        open: [22],
        service: `product="${xmlEscape(HOSTILE)}"`,
        script: { id: "banner", output: HOSTILE }
      }])
      const id = yield* seedXml(scans, { callerId: "exec", xml, target: "127.0.0.0/30" })
      const later = yield* seedXml(scans, {
        callerId: "exec",
        xml: nmapXml([{ address: "127.0.0.1", open: [22, 80] }]),
        target: "127.0.0.0/30"
      })
      const foreign = yield* seedScan(scans, { callerId: "admin", open: [22] })
      const client = yield* connect(base, keys.executor)

      const { resourceTemplates } = yield* Effect.promise(() => client.listResourceTemplates())
      expect(resourceTemplates.filter((t) => t.uriTemplate.startsWith("report://")).map((t) => t.uriTemplate)).toEqual([
        "report://scan/{id}.{format}",
        "report://diff/{a}/{b}.{format}",
        "report://history/{target}.{format}"
      ])
      const md = yield* read(client, `report://scan/${id}.md`)
      expect(md).toMatchObject({ uri: `report://scan/${id}.md`, mimeType: "text/markdown" })
      expect(md.text).toContain("```text\n<script>alert(1)</script>")
      const html = yield* read(client, `report://scan/${id}.html`)
      expect(html.mimeType).toBe("text/html")
      expect(foreignMarkup(html.text)).toEqual([])
      expect((yield* read(client, `report://scan/${id}.csv`)).text).toMatch(/^"scan_id","address"/)
      expect(JSON.parse((yield* read(client, `report://scan/${id}.json`)).text).hosts[0].address).toBe("127.0.0.1")
      expect((yield* read(client, `report://diff/${id}/${later}.md`)).text).toContain("## Ports opened (1)")
      for (const uri of [historyReportUri("127.0.0.0/30", "md"), "report://history/127.0.0.0/30.md"]) {
        expect((yield* read(client, uri)).text).toContain("+1 opened")
      }
      // Another key's scan is not there; an unknown form is no resource.
      expect(yield* readError(client, `report://scan/${foreign}.md`)).toBe(-32002)
      expect(yield* readError(client, `report://scan/${id}.pdf`)).toBe(-32002)
      const admin = yield* connect(base, keys.admin)
      expect((yield* read(admin, `report://scan/${id}.md`)).text).toContain(id)
    }), 30_000)

  it.scopedLive("completes the report templates: scan ids, targets and formats", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const scanId = yield* seedScan(scans, { callerId: "exec", open: [22], target: "127.0.0.0/30" })
      const client = yield* connect(base, keys.executor)
      const complete = (uri: string, name: string, value: string) =>
        Effect.promise(() => client.complete({ ref: { type: "ref/resource", uri }, argument: { name, value } })).pipe(
          Effect.map((r) => r.completion.values)
        )
      expect(yield* complete("report://scan/{id}.{format}", "id", scanId.slice(0, 4))).toEqual([scanId])
      expect(yield* complete("report://scan/{id}.{format}", "format", "")).toEqual(["md", "html", "json", "csv"])
      expect(yield* complete("report://diff/{a}/{b}.{format}", "a", "")).toEqual([scanId])
      expect(yield* complete("report://diff/{a}/{b}.{format}", "format", "h")).toEqual(["html"])
      expect((yield* complete("report://history/{target}.{format}", "target", "127.0.0.0"))[0]).toBe("127.0.0.0/30")
    }), 30_000)

  it.scopedLive("ScanReport writes a scan's, a diff's or a history's report and links both forms", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const before = yield* seedScan(scans, { callerId: "exec", open: [22, 80] })
      const after = yield* seedScan(scans, { callerId: "exec", open: [22, 443] })
      const foreign = yield* seedScan(scans, { callerId: "admin", open: [22] })
      const client = yield* connect(base, keys.executor)
      const call = (args: Record<string, unknown>) => Effect.promise(() => client.callTool({ name: "ScanReport", arguments: args }))

      const scan = yield* call({ scan_id: after, baseline_scan_id: null, target: null })
      expect(scan.isError).toBeFalsy()
      const [text, htmlLink, mdLink] = scan.content as Array<any>
      expect(text.text).toMatch(/^# Scan report: NmapTool 127\.0\.0\.1/)
      expect(htmlLink).toEqual({
        type: "resource_link",
        uri: `report://scan/${after}.html`,
        name: `scan-${after}.html`,
        mimeType: "text/html"
      })
      expect(mdLink).toMatchObject({ uri: `report://scan/${after}.md`, mimeType: "text/markdown" })

      const diff = yield* call({ scan_id: after, baseline_scan_id: before, target: null })
      expect((diff.content as Array<any>)[0].text).toContain("| `127.0.0.1` | 443/tcp | open |")
      expect((diff.content as Array<any>)[1].uri).toBe(`report://diff/${before}/${after}.html`)

      const history = yield* call({ scan_id: null, baseline_scan_id: null, target: "127.0.0.1" })
      expect((history.content as Array<any>)[0].text).toContain("+1 opened, -1 closed")
      const link = (history.content as Array<any>)[1].uri as string
      expect(link).toBe("report://history/127.0.0.1.html")
      expect(foreignMarkup((yield* read(client, link)).text)).toEqual([])

      const missing = yield* call({ scan_id: foreign, baseline_scan_id: null, target: null })
      expect([missing.isError, (missing.structuredContent as any).error._tag]).toEqual([true, "ScanNotFound"])
      for (
        const bad of [{ scan_id: null, baseline_scan_id: null, target: null }, { scan_id: after, baseline_scan_id: null, target: "x" }, {
          scan: 1
        }]
      ) {
        const reply = yield* call(bad)
        expect([reply.isError, (reply.structuredContent as any).error._tag]).toEqual([true, "InvalidInput"])
      }
    }), 30_000)
})
