import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { seedScan } from "../support/scans.js"
import { authPatch, keys, startServer } from "./fakes.js"

const get = (base: string, path: string, key: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } })
    return { status: response.status, body: (await response.json()) as any }
  })

describe("REST: stored scans", () => {
  it.scopedLive("lists newest first, each key its own unless admin, with filters and cursor pagination", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const first = yield* seedScan(scans, { callerId: "exec", open: [22] })
      const second = yield* seedScan(scans, { callerId: "exec", open: [22, 80], target: "127.0.0.0/30" })
      const admins = yield* seedScan(scans, { callerId: "admin", open: [443] })

      const own = yield* get(base, "/scans", keys.executor)
      expect(own.status).toBe(200)
      expect(own.body.scans.map((s: any) => s.scan_id)).toEqual([second, first])
      expect(own.body.next_cursor).toBeNull()
      const all = yield* get(base, "/scans", keys.admin)
      expect(all.body.scans.map((s: any) => s.scan_id)).toEqual([admins, second, first])
      // A key cannot widen its view by naming another caller.
      expect((yield* get(base, "/scans?caller=admin", keys.executor)).body.scans).toEqual([])
      expect((yield* get(base, "/scans?caller=exec", keys.admin)).body.scans).toHaveLength(2)

      const page1 = yield* get(base, "/scans?limit=2", keys.admin)
      expect(page1.body.scans.map((s: any) => s.scan_id)).toEqual([admins, second])
      const page2 = yield* get(base, `/scans?limit=2&cursor=${page1.body.next_cursor}`, keys.admin)
      expect(page2.body).toMatchObject({ scans: [{ scan_id: first }], next_cursor: null })

      expect((yield* get(base, "/scans?target=127.0.0.0%2F30", keys.admin)).body.scans.map((s: any) => s.scan_id)).toEqual([second])
      expect((yield* get(base, "/scans?tool=PingTool", keys.admin)).body.scans).toEqual([])
      expect((yield* get(base, "/scans?outcome=succeeded&since=2000-01-01T00:00:00Z", keys.admin)).body.scans).toHaveLength(3)
      expect((yield* get(base, "/scans?until=2000-01-01T00:00:00Z", keys.admin)).body.scans).toEqual([])

      for (const bad of ["/scans?limit=0", "/scans?limit=x", "/scans?outcome=great", "/scans?since=yesterday", "/scans?cursor=abc"]) {
        const reply = yield* get(base, bad, keys.admin)
        expect([bad, reply.status, reply.body.detail._tag]).toEqual([bad, 400, "InvalidInput"])
      }
    }))

  it.scopedLive("reads one scan as its execute response with scan_id and stored_at, its raw output, and its target's history", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const scanId = yield* seedScan(scans, { callerId: "exec", open: [22, 80], target: "127.0.0.0/30" })

      const { body, status } = yield* get(base, `/scans/${scanId}`, keys.executor)
      expect(status).toBe(200)
      expect(body).toMatchObject({
        tool: "NmapTool",
        scan_id: scanId,
        outcome: "succeeded",
        parse_status: "complete",
        returncode: 0,
        metadata: { target: "127.0.0.0/30", argv: ["nmap", "-oX", "-", "-n", "-sT", "127.0.0.0/30"] },
        structured: { hosts: [{ ports: [{ portid: 22 }, { portid: 80 }] }] }
      })
      expect(Date.parse(body.stored_at)).not.toBeNaN()
      expect(body.summary).toContain("127.0.0.1: 22,80/tcp open")
      expect(body.stdout).toContain("<nmaprun")

      const raw = yield* get(base, `/scans/${scanId}/raw`, keys.executor)
      expect(raw.body).toMatchObject({ scan_id: scanId, stderr: "", truncated_stdout: false })
      expect(raw.body.stdout).toBe(body.stdout)

      const history = yield* get(base, "/history?target=127.0.0.0/30", keys.executor)
      expect(history.body.scans.map((s: any) => s.scan_id)).toEqual([scanId])
      expect((yield* get(base, "/history?target=127.0.0.1", keys.executor)).body.scans).toEqual([])

      // Another key's scan, a made-up id and a malformed one all look missing.
      for (const path of [`/scans/${scanId}`, `/scans/${scanId}/raw`]) {
        expect((yield* get(base, path, keys.admin)).status).toBe(200)
      }
      const other = yield* seedScan(scans, { callerId: "admin", open: [1] })
      for (const id of [other, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-a-scan"]) {
        const reply = yield* get(base, `/scans/${id}`, keys.executor)
        expect([id, reply.status, reply.body.detail._tag]).toEqual([id, 404, "ScanNotFound"])
      }
    }))

  it.scopedLive("diffs two scans: the ports that opened and closed, bounded summary; results that are not port scans are refused", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const before = yield* seedScan(scans, { callerId: "exec", open: [22, 80] })
      const after = yield* seedScan(scans, { callerId: "exec", open: [22, 443] })
      const { body, status } = yield* get(base, `/scans/${before}/diff/${after}`, keys.executor)
      expect(status).toBe(200)
      expect(body.from.scan_id).toBe(before)
      expect(body.to.scan_id).toBe(after)
      expect(body.diff.ports_opened.map((p: any) => p.portid)).toEqual([443])
      expect(body.diff.ports_closed.map((p: any) => p.portid)).toEqual([80])
      expect(body.summary).toMatch(/1 ports opened, 1 closed/)
      const mine = yield* seedScan(scans, { callerId: "admin", open: [22] })
      expect((yield* get(base, `/scans/${before}/diff/${mine}`, keys.executor)).status).toBe(404)
    }))

  it.scopedLive("answers 503 StoreUnavailable when storage is disabled", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer(authPatch)
      for (const path of ["/scans", "/scans/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/history?target=127.0.0.1"]) {
        const reply = yield* get(base, path, keys.admin)
        expect([path, reply.status, reply.body.detail._tag]).toEqual([path, 503, "StoreUnavailable"])
        expect(reply.body.detail.message).toContain("storage.enabled: false")
      }
    }))
})
