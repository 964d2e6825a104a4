import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Option, Queue } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { authPatch, keys, startServer, storageDirectory } from "../http/fakes.js"
import { endOf } from "../storage/support.js"
import { seedScan } from "../support/scans.js"

/** The scan store as MCP resources, a tool and completions, through the SDK client against the real HTTP server. */

const connect = (base: string, key: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } }
      })
      const client = new Client({ name: "vitest", version: "1.0.0" })
      await client.connect(transport)
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const textOf = (contents: ReadonlyArray<{ readonly mimeType?: string; readonly text?: unknown }>, mimeType: string) =>
  String(contents.find((c) => c.mimeType === mimeType)?.text)

describe("MCP: the scan store", () => {
  it.scopedLive("lists recent scans of the caller after the flag tables, a page at a time, and reads them", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const ids: Array<string> = []
      for (let i = 0; i < 52; i++) ids.push(yield* seedScan(scans, { callerId: "exec", open: [22, 1000 + i] }))
      const foreign = yield* seedScan(scans, { callerId: "admin", open: [9] })
      const client = yield* connect(base, keys.executor)
      expect(client.getServerCapabilities()?.resources).toEqual({ listChanged: true, subscribe: true })

      const seen: Array<string> = []
      let cursor: string | undefined
      do {
        const page = yield* Effect.promise(() => client.listResources(cursor === undefined ? {} : { cursor }))
        seen.push(...page.resources.map((r) => r.uri))
        cursor = page.nextCursor
      } while (cursor !== undefined)
      expect(seen[0]).toBe("tools://NmapTool/flags")
      expect(seen.filter((uri) => uri.startsWith("scan://"))).toEqual([...ids].reverse().map((id) => `scan://${id}`))
      expect(seen).not.toContain(`scan://${foreign}`)

      const { resourceTemplates } = yield* Effect.promise(() => client.listResourceTemplates())
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(
        expect.arrayContaining(["scan://{id}", "scan://{id}/raw", "scan://{id}/hosts/{address}", "history://{target}", "diff://{a}/{b}"])
      )

      const [first, second] = [ids[0]!, ids[1]!]
      const scan = yield* Effect.promise(() => client.readResource({ uri: `scan://${first}` }))
      const record = JSON.parse(textOf(scan.contents, "application/json"))
      expect(record).toMatchObject({
        scan_id: first,
        outcome: "succeeded",
        structured: { hosts: [{ ports: [{ portid: 22 }, { portid: 1000 }] }] }
      })
      expect(textOf(scan.contents, "text/plain")).toContain("22,1000/tcp open")

      const raw = yield* Effect.promise(() => client.readResource({ uri: `scan://${first}/raw` }))
      expect(textOf(raw.contents, "application/xml")).toContain("<nmaprun")
      const host = yield* Effect.promise(() => client.readResource({ uri: `scan://${first}/hosts/127.0.0.1` }))
      expect(JSON.parse(textOf(host.contents, "application/json")).host.ports).toHaveLength(2)
      const history = yield* Effect.promise(() => client.readResource({ uri: "history://127.0.0.1" }))
      expect(JSON.parse(textOf(history.contents, "application/json")).scans).toHaveLength(50)
      const diff = yield* Effect.promise(() => client.readResource({ uri: `diff://${first}/${second}` }))
      const comparison = JSON.parse(textOf(diff.contents, "application/json"))
      expect(comparison.diff.ports_opened.map((p: any) => p.portid)).toEqual([1001])
      expect(comparison.diff.ports_closed.map((p: any) => p.portid)).toEqual([1000])

      // Another key's scan, a missing host and an unknown scheme are all -32002.
      for (const uri of [`scan://${foreign}`, `scan://${first}/hosts/127.0.0.9`, "scan://01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope://x"]) {
        const error = yield* Effect.promise(() => client.readResource({ uri }).then(() => undefined, (e: { code?: number }) => e.code))
        expect([uri, error]).toEqual([uri, -32002])
      }
    }), 60_000)

  it.scopedLive(
    "ScanDiff compares two scans, or a scan with the previous one of the same target and arguments",
    () =>
      Effect.gen(function*() {
        const { base, scans } = yield* startServer(authPatch, { storage: true })
        const before = yield* seedScan(scans, { callerId: "exec", open: [22, 80] })
        const after = yield* seedScan(scans, { callerId: "exec", open: [22, 8080] })
        const client = yield* connect(base, keys.executor)
        const { tools } = yield* Effect.promise(() => client.listTools())
        expect(tools.map((t) => t.name)).toEqual(["NmapTool", "ScanDiff", "ScanReport"])

        for (const args of [{ scan_id: after, baseline_scan_id: before }, { scan_id: after, baseline_scan_id: null }]) {
          const result = yield* Effect.promise(() => client.callTool({ name: "ScanDiff", arguments: args }))
          expect(result.isError).toBeFalsy()
          const { comparison } = result.structuredContent as any
          expect(comparison.from.scan_id).toBe(before)
          expect(comparison.diff.ports_opened.map((p: any) => p.portid)).toEqual([8080])
          expect(comparison.diff.ports_closed.map((p: any) => p.portid)).toEqual([80])
          expect((result.content as any)[1]).toMatchObject({ type: "resource_link", uri: `diff://${before}/${after}` })
        }
        const none = yield* Effect.promise(() =>
          client.callTool({ name: "ScanDiff", arguments: { scan_id: before, baseline_scan_id: null } })
        )
        expect(none.isError).toBe(true)
        expect((none.content as any)[0].text).toMatch(/^InvalidInput: no earlier succeeded scan of NmapTool/)
        const bad = yield* Effect.promise(() => client.callTool({ name: "ScanDiff", arguments: { scan: 1 } }))
        expect(bad.isError).toBe(true)
        expect((bad.structuredContent as any).error._tag).toBe("InvalidInput")
      }),
    30_000
  )

  it.scopedLive(
    "tells a subscriber when a watched scan found more and when it ended; unsubscribing stops it",
    () =>
      Effect.gen(function*() {
        const { base, scans } = yield* startServer(authPatch, { storage: true })
        const client = yield* connect(base, keys.executor)
        const updates = yield* Queue.unbounded<string>()
        client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void Effect.runSync(Queue.offer(updates, n.params.uri)))
        const scanId = Option.getOrThrow(yield* scans.newId)
        yield* Effect.promise(() => client.subscribeResource({ uri: `scan://${scanId}` }))
        yield* Effect.promise(() => client.subscribeResource({ uri: "history://127.0.0.5" }))
        const input = {
          tool: "NmapTool",
          caller_id: "exec",
          correlation_id: "sub-1",
          target: "127.0.0.5",
          resolved_target: "127.0.0.5",
          argv: ["nmap"],
          args: [],
          template: null,
          intrusive: false,
          notes: []
        }
        yield* scans.begin(input, scanId)
        yield* scans.progress(scanId, { hosts_seen: 1, hosts_up: 1, open_ports: 3 })
        expect(yield* Queue.take(updates)).toBe(`scan://${scanId}`)
        const running = yield* Effect.promise(() => client.readResource({ uri: `scan://${scanId}` }))
        expect(JSON.parse(textOf(running.contents, "application/json"))).toMatchObject({
          outcome: "running",
          progress: { hosts_up: 1, open_ports: 3 }
        })
        yield* scans.finish(scanId, endOf({ parse_status: "none", structured: null, summary: "done", stdout: "" }))
        expect([yield* Queue.take(updates), yield* Queue.take(updates)].sort()).toEqual(["history://127.0.0.5", `scan://${scanId}`])
        const ended = yield* Effect.promise(() => client.readResource({ uri: `scan://${scanId}` }))
        expect(JSON.parse(textOf(ended.contents, "application/json")).outcome).toBe("succeeded")

        // Another key's scans are never announced, and an unsubscribed URI is quiet.
        yield* Effect.promise(() => client.unsubscribeResource({ uri: `scan://${scanId}` }))
        const other = yield* seedScan(scans, { callerId: "admin", open: [1], target: "127.0.0.5" })
        const mine = yield* seedScan(scans, { callerId: "exec", open: [2], target: "127.0.0.5" })
        expect(yield* Queue.take(updates)).toBe("history://127.0.0.5")
        expect(yield* Queue.size(updates)).toBe(0)
        expect(other < mine).toBe(true)
      }),
    30_000
  )

  it.scopedLive(
    "a store that cannot be opened hides the scans, not the flag tables; reading a scan says why",
    () =>
      Effect.gen(function*() {
        const dir = yield* storageDirectory
        writeFileSync(join(dir, "file"), "")
        const { base } = yield* startServer(authPatch, { storagePath: join(dir, "file", "data") })
        const client = yield* connect(base, keys.executor)
        const { resources } = yield* Effect.promise(() => client.listResources())
        expect(resources.map((r) => r.uri)).toEqual(["tools://NmapTool/flags"])
        const error = yield* Effect.promise(() =>
          client.readResource({ uri: "scan://01ARZ3NDEKTSV4RRFFQ69G5FAV" }).then(
            () => undefined,
            (e: { code?: number; message?: string }) => e
          )
        )
        expect(error?.code).toBe(-32603)
        expect(error?.message).toContain("The store is not open")
      }),
    30_000
  )

  it.scopedLive("completes scan ids, host addresses and targets from the store", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const scanId = yield* seedScan(scans, { callerId: "exec", open: [22], target: "127.0.0.0/30" })
      const client = yield* connect(base, keys.executor)
      const complete = (uri: string, name: string, value: string, context?: Record<string, string>) =>
        Effect.promise(() =>
          client.complete({
            ref: { type: "ref/resource", uri },
            argument: { name, value },
            ...(context === undefined ? {} : { context: { arguments: context } })
          })
        ).pipe(Effect.map((r) => r.completion.values))
      expect(yield* complete("scan://{id}", "id", scanId.slice(0, 4))).toEqual([scanId])
      expect(yield* complete("diff://{a}/{b}", "b", "")).toEqual([scanId])
      expect(yield* complete("scan://{id}/hosts/{address}", "address", "", { id: scanId })).toEqual(["127.0.0.1"])
      expect((yield* complete("history://{target}", "target", "127.0.0.0"))[0]).toBe("127.0.0.0/30")
      const prompt = yield* Effect.promise(() =>
        client.complete({ ref: { type: "ref/prompt", name: "compare-with-last-scan" }, argument: { name: "target", value: "" } })
      )
      expect(prompt.completion.values[0]).toBe("127.0.0.0/30")
    }), 30_000)
})
