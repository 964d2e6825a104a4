import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { authPatch, keys, startServer } from "../http/fakes.js"
import { httpRequest } from "../support/server.js"
import { SECRET, startReceiver } from "./support.js"

/**
 * The watch routes over the real HTTP server and a SQLite store: a schedule
 * switched off and on by its owner (another key cannot see it), the dead
 * letters in cursor pages for an admin only, and a retry that delivers one
 * (signed, same alert id) to a receiver on loopback and removes it. The
 * executor is the fake one: no schedule here runs anything.
 */

const as = (key: string, body?: unknown) => ({
  headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) })
})

const letterIds = ["01M8SD00000000000000000001", "01M8SD00000000000000000002", "01M8SD00000000000000000003"]

describe("the watch routes", () => {
  it.scopedLive("PATCH /schedules/{id} switches a schedule off and on, for its owner or an admin only", () =>
    Effect.gen(function*() {
      const { port } = yield* startServer(authPatch, { storage: true })
      const created = yield* httpRequest(
        port,
        "POST",
        "/schedules",
        as(keys.admin, { name: "nightly", tool: "NmapTool", target: "127.0.0.1", cron: "0 3 * * *" })
      )
      const id = (created.body as { schedule_id: string }).schedule_id
      const off = yield* httpRequest(port, "PATCH", `/schedules/${id}`, as(keys.admin, { enabled: false }))
      expect(off.status).toBe(200)
      expect(off.body).toMatchObject({ schedule_id: id, enabled: false })
      const read = yield* httpRequest(port, "GET", `/schedules/${id}`, as(keys.admin))
      expect(read.body).toMatchObject({ enabled: false })
      const on = yield* httpRequest(port, "PATCH", `/schedules/${id}`, as(keys.admin, { enabled: true }))
      expect(on.body).toMatchObject({ enabled: true })

      const other = yield* httpRequest(port, "PATCH", `/schedules/${id}`, as(keys.executor, { enabled: false }))
      expect(other.status).toBe(404)
      const extra = yield* httpRequest(port, "PATCH", `/schedules/${id}`, as(keys.admin, { enabled: false, target: "127.0.0.2" }))
      expect(extra.status).toBe(400)
      expect(extra.body).toMatchObject({ detail: { _tag: "InvalidInput" } })
      expect(JSON.stringify(extra.body)).toContain("target")
    }))

  it.scopedLive("dead letters: pages for an admin, a retry delivers one signed with its alert id and removes it", () =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver()
      const { port, scheduleStore } = yield* startServer({
        ...authPatch,
        watch: {
          webhooks: [{ name: "ops", url: `http://127.0.0.1:${receiver.port}/hook`, secret: SECRET, timeout: 5 }],
          webhook_egress: ["127.0.0.1"]
        }
      }, { storage: true })
      for (const [n, id] of letterIds.entries()) {
        yield* Effect.orDie(scheduleStore.deadLetter({
          id,
          webhook: "ops",
          scheduleId: "s",
          runId: `run-${n}`,
          payload: JSON.stringify({ type: "schedule.changed", alert_id: `alert-${n}`, changes: n }),
          attempts: 4,
          lastError: "the receiver answered HTTP 500",
          nowMs: Date.now()
        }))
      }
      expect((yield* httpRequest(port, "GET", "/webhooks/dead-letters", as(keys.executor))).status).toBe(403)
      const first = yield* httpRequest(port, "GET", "/webhooks/dead-letters?limit=2", as(keys.admin))
      expect(first.status).toBe(200)
      const page = first.body as { dead_letters: ReadonlyArray<{ id: string }>; next_cursor: string | null }
      expect(page.dead_letters.map((l) => l.id)).toEqual([letterIds[2], letterIds[1]])
      expect(page.next_cursor).toBe(letterIds[1])
      const second = yield* httpRequest(port, "GET", `/webhooks/dead-letters?limit=2&cursor=${page.next_cursor}`, as(keys.admin))
      expect(second.body).toEqual({ dead_letters: [expect.objectContaining({ id: letterIds[0] })], next_cursor: null })

      const retried = yield* httpRequest(port, "POST", `/webhooks/dead-letters/${letterIds[1]}/retry`, as(keys.admin))
      expect(retried.status).toBe(200)
      expect(retried.body).toEqual({ webhook: "ops", delivered: true, attempts: 5, error: null, dead_letter: null })
      expect(receiver.received).toHaveLength(1)
      expect(receiver.received[0]).toMatchObject({ signatureValid: true, alert: { alert_id: "alert-1", changes: 1 } })
      expect(receiver.received[0]!.headers["x-alert-id"]).toBe("alert-1")
      const left = yield* httpRequest(port, "GET", "/webhooks/dead-letters", as(keys.admin))
      expect((left.body as typeof page).dead_letters.map((l) => l.id)).toEqual([letterIds[2], letterIds[0]])
      const again = yield* httpRequest(port, "POST", `/webhooks/dead-letters/${letterIds[1]}/retry`, as(keys.admin))
      expect(again.status).toBe(404)
      expect(again.body).toMatchObject({ detail: { _tag: "DeadLetterNotFound" } })
    }))

  it.scopedLive("a retry that fails again keeps the dead letter, with one more attempt and the new error", () =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver(() => 503)
      const { port, scheduleStore } = yield* startServer({
        ...authPatch,
        watch: {
          webhooks: [{ name: "ops", url: `http://127.0.0.1:${receiver.port}/hook`, secret: SECRET, timeout: 5 }],
          webhook_egress: ["127.0.0.1"]
        }
      }, { storage: true })
      yield* Effect.orDie(scheduleStore.deadLetter({
        id: letterIds[0]!,
        webhook: "ops",
        scheduleId: "s",
        runId: "run",
        payload: JSON.stringify({ alert_id: "alert-0" }),
        attempts: 4,
        lastError: "the receiver answered HTTP 500",
        nowMs: Date.now()
      }))
      const retried = yield* httpRequest(port, "POST", `/webhooks/dead-letters/${letterIds[0]}/retry`, as(keys.admin))
      expect(retried.body).toMatchObject({
        delivered: false,
        attempts: 5,
        error: "the receiver answered HTTP 503",
        dead_letter: { id: letterIds[0], attempts: 5, last_error: "the receiver answered HTTP 503" }
      })
      expect(receiver.received).toHaveLength(1)
    }))
})
