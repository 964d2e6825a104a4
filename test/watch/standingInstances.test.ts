import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { sha256Hex } from "../../src/http/auth.js"
import { testDatabases } from "../storage/support.js"
import { twoInstances } from "../support/instances.js"
import { eventually, httpRequest } from "../support/server.js"
import { openPort } from "./support.js"

/**
 * A standing approval across two real server processes on one real
 * PostgreSQL: a schedule created through one instance asks at once; the
 * request is in the other instance's queue; the owner's key cannot approve
 * it there; another key approves it there; the run (on whichever instance
 * claims it) executes under it, and its stored scan names it; a revocation
 * through the first instance is what the second reads. Scans go only to a
 * listener on 127.0.0.1 that this test opens.
 */

const postgres = testDatabases.find((db) => db.name === "postgres")!

const OWNER_KEY = "standing-owner-key-0123456789"
const APPROVER_KEY = "standing-approver-key-0123456789"

const as = (key: string, body?: unknown) => ({
  headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) })
})

describe("standing approvals across instances on one PostgreSQL", () => {
  it.scopedLive(
    "asked through one instance, approved through the other by another key, runs once, revoked for both",
    () =>
      Effect.gen(function*() {
        const db = yield* postgres.make
        const listener = yield* openPort()
        const [a, b] = yield* twoInstances(db, {
          auth: {
            api_keys: [
              { id: "owner", sha256: sha256Hex(OWNER_KEY), scopes: ["execute", "schedule"], engagements: ["lab"] },
              { id: "approver", sha256: sha256Hex(APPROVER_KEY), scopes: ["approve"], engagements: ["lab"] }
            ]
          },
          engagements: [{ name: "lab", targets: ["127.0.0.1"], approval: "all" }],
          watch: { poll_interval: 0.1, min_interval: 1 }
        })

        const created = yield* httpRequest(
          a!.port,
          "POST",
          "/schedules",
          as(OWNER_KEY, {
            name: "lab-ports",
            tool: "NmapTool",
            target: "127.0.0.1",
            engagement: "lab",
            args: ["-n", "-sT", "-Pn", "-p", String(listener.port)],
            interval: 3600
          })
        )
        expect(created.status, created.text).toBe(200)
        const id = created.body.schedule_id as string
        const queue = yield* httpRequest(b!.port, "GET", "/approvals?kind=standing&status=pending", as(APPROVER_KEY))
        expect(queue.body).toEqual([expect.objectContaining({ kind: "standing", schedule_id: id, requested_by: "owner" })])
        const approvalId = queue.body[0].approval_id as string

        const own = yield* httpRequest(b!.port, "POST", `/approvals/${approvalId}/approve`, as(OWNER_KEY, { reason: "mine" }))
        expect(own.status).toBe(403)
        const runs = () =>
          Effect.map(httpRequest(a!.port, "GET", `/schedules/${id}`, as(OWNER_KEY)), (r) => r.body.recent_runs as ReadonlyArray<any>)
        yield* eventually(
          "the first run, skipped while pending",
          Effect.map(runs(), (all) => all.length > 0 && all[0].status !== "running"),
          Duration.seconds(30)
        )
        expect((yield* runs())[0]).toMatchObject({ status: "skipped", reason: expect.stringContaining(`${approvalId} is pending`) })

        const approved = yield* httpRequest(
          b!.port,
          "POST",
          `/approvals/${approvalId}/approve`,
          as(APPROVER_KEY, { reason: "lab ports, weekly" })
        )
        expect(approved.status, approved.text).toBe(200)
        // Off and on again: an interval schedule runs at once, now under its approval (and asks for nothing new).
        yield* httpRequest(a!.port, "PATCH", `/schedules/${id}`, as(OWNER_KEY, { enabled: false }))
        yield* httpRequest(b!.port, "PATCH", `/schedules/${id}`, as(OWNER_KEY, { enabled: true }))
        yield* eventually(
          "a run under the standing approval",
          Effect.map(runs(), (all) => all.some((r) => r.status === "succeeded")),
          Duration.seconds(60)
        )
        const statuses = (yield* runs()).map((r) => r.status)
        expect(statuses).toEqual(["succeeded", "skipped"])
        const scanId = (yield* runs())[0].scan_id as string
        const scan = yield* httpRequest(b!.port, "GET", `/scans/${scanId}`, as(OWNER_KEY))
        expect(scan.body.metadata.notes).toContain(`scheduled run under standing approval ${approvalId} (approved by approver)`)
        const all = yield* httpRequest(a!.port, "GET", "/approvals?kind=standing", as(APPROVER_KEY))
        expect((all.body as ReadonlyArray<any>).map((x) => x.approval_id)).toEqual([approvalId])

        const revoked = yield* httpRequest(a!.port, "POST", `/approvals/${approvalId}/revoke`, as(APPROVER_KEY, { reason: "done" }))
        expect(revoked.body).toMatchObject({ status: "revoked", revoked_by: "approver" })
        const seen = yield* httpRequest(b!.port, "GET", `/approvals/${approvalId}`, as(OWNER_KEY))
        expect(seen.body).toMatchObject({ status: "revoked" })
      }),
    { timeout: 150_000 }
  )
})
