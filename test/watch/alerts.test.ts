import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { makeConfigFile } from "../e2e/support/config.js"
import { eventually, startHttpServer } from "../support/server.js"
import { createSchedule, freePort, getSchedule, openPort, SECRET, startReceiver, watcherKey } from "./support.js"

/**
 * THE DONE TEST of change alerts: the built server, a schedule of real nmap
 * (-n -sT -Pn) over listeners on 127.0.0.1 that the test opens and closes
 * between runs, and a webhook receiver on loopback. Every change of the
 * listener set is one signed webhook, however many runs see it: runs that
 * find nothing new send nothing.
 */

const runsAfter = (schedule: any, since: number) =>
  (schedule.recent_runs as ReadonlyArray<any>).filter((r) => Date.parse(r.started_at) > since && r.status !== "running")

describe("change alerts", () => {
  it.scopedLive(
    "a schedule over a changing loopback listener set sends exactly one signed webhook per change",
    () =>
      Effect.gen(function*() {
        const receiver = yield* startReceiver()
        const first = yield* openPort()
        const secondPort = yield* freePort
        const config = makeConfigFile({
          server: { transport: "http", host: "127.0.0.1", port: 0 },
          auth: { api_keys: [watcherKey] },
          watch: {
            poll_interval: 0.1,
            min_interval: 1,
            webhooks: [{ name: "receiver", url: `http://127.0.0.1:${receiver.port}/hook`, secret: SECRET }],
            webhook_egress: ["127.0.0.1"],
            webhook_backoff: 0.05
          }
        })
        yield* Effect.addFinalizer(() => Effect.sync(config.remove))
        const server = yield* startHttpServer({ configFile: config.path })
        const created = yield* createSchedule(server.port, {
          name: "lab-ports",
          tool: "NmapTool",
          target: "127.0.0.1",
          args: ["-n", "-sT", "-Pn", "-p", `${first.port},${secondPort}`],
          interval: 1,
          webhooks: ["receiver"]
        })
        expect(created.status, created.text).toBe(200)
        const id = created.body.schedule_id as string
        expect(created.body).toMatchObject({ owner: "watcher", source: "api", alert: "any", enabled: true })

        /** Waits for two finished runs that started after `since`: the change is seen by the first, the second sees none. */
        const settle = (since: number) =>
          eventually(
            "two runs after the change",
            Effect.map(getSchedule(server.port, id), (s) => runsAfter(s, since).length >= 2),
            Duration.seconds(40)
          )

        yield* settle(0)
        expect(receiver.received).toEqual([])
        const runs = (yield* getSchedule(server.port, id)).recent_runs as ReadonlyArray<any>
        expect(runs.every((r: any) => r.status === "succeeded" && r.scan_id !== null)).toBe(true)

        let changedAt = Date.now()
        yield* openPort(secondPort)
        yield* settle(changedAt)
        expect(receiver.received.length).toBe(1)

        changedAt = Date.now()
        yield* first.close
        yield* settle(changedAt)
        expect(receiver.received.length).toBe(2)

        const [opened, closed] = receiver.received
        for (const delivery of receiver.received) {
          expect(delivery.signatureValid).toBe(true)
          expect(delivery.headers["content-type"]).toBe("application/json")
          expect(delivery.headers["x-alert-id"]).toBe(delivery.alert.alert_id)
          expect(delivery.alert).toMatchObject({ type: "schedule.changed", schedule_id: id, owner: "watcher", target: "127.0.0.1" })
        }
        expect(opened!.alert.diff.ports_opened.map((p: any) => p.portid)).toEqual([secondPort])
        expect(opened!.alert.diff.ports_closed).toEqual([])
        expect(closed!.alert.diff.ports_closed.map((p: any) => p.portid)).toEqual([first.port])
        // Each run is compared with the one before it: the second alert's baseline is no older than the first alert's scan.
        expect(closed!.alert.from_scan_id >= opened!.alert.to_scan_id).toBe(true)
        expect(new Set(receiver.received.map((r) => r.alert.alert_id)).size).toBe(2)
      }),
    { timeout: 120_000 }
  )
})
