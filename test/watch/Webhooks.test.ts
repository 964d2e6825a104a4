import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { Database } from "../../src/storage/Database.js"
import { ScheduleStore } from "../../src/storage/ScheduleStore.js"
import { StorageLive } from "../../src/storage/StorageLive.js"
import type { ChangeAlert } from "../../src/watch/alerts.js"
import { Webhooks } from "../../src/watch/Webhooks.js"
import { eventually } from "../support/server.js"
import { tempDir } from "../support/shims.js"
import { SECRET, startReceiver } from "./support.js"

/**
 * Deliveries to a receiver on loopback: retried with backoff until it
 * answers 2xx, kept as a dead letter after the last retry, and never sent
 * to a URL outside watch.webhook_egress.
 */

const alert: ChangeAlert = {
  type: "schedule.changed",
  alert_id: "01ALERT",
  schedule_id: "s1",
  schedule: "lab",
  owner: "k",
  run_id: "r1",
  tool: "NmapTool",
  target: "127.0.0.1",
  rule: "any",
  changes: 1,
  from_scan_id: "a",
  to_scan_id: "b",
  summary: "1 port opened",
  diff: {
    a: { scanner: "nmap", complete: true },
    b: { scanner: "nmap", complete: true },
    hosts_new: [],
    hosts_gone: [],
    hosts_state_changed: [],
    ports_opened: [{ address: "127.0.0.1", protocol: "tcp", portid: 22, from: "closed", to: "open" }],
    ports_closed: [],
    ports_state_changed: [],
    services_changed: [],
    scripts_changed: [],
    hosts_unchanged: 0
  },
  at: "2026-01-01T00:00:00.000Z"
}

const webhooks = (urls: Record<string, string>, egress: ReadonlyArray<string>, backoff = 0.01) =>
  Effect.gen(function*() {
    const dir = yield* tempDir("webhooks")
    const config = ConfigService.layerWith({
      storage: { path: dir },
      watch: {
        webhooks: Object.entries(urls).map(([name, url]) => ({ name, url, secret: SECRET, timeout: 5 })),
        webhook_egress: egress,
        webhook_retries: 2,
        webhook_backoff: backoff
      }
    })
    const context = yield* Layer.build(
      Webhooks.layer.pipe(Layer.provideMerge(StorageLive({ configFile: undefined })), Layer.provide(config))
    )
    yield* Context.get(context, Database).ready
    return { hooks: Context.get(context, Webhooks), store: Context.get(context, ScheduleStore) }
  })

describe("webhook deliveries", () => {
  it.scopedLive("retry with backoff until the receiver takes it; the alert id is the same in every attempt", () =>
    Effect.gen(function*() {
      let calls = 0
      const receiver = yield* startReceiver(() => (++calls <= 2 ? 500 : 200))
      const { hooks, store } = yield* webhooks({ ops: `http://127.0.0.1:${receiver.port}/hook` }, ["127.0.0.1"])
      const delivery = yield* hooks.deliver("ops", alert)
      expect(delivery).toEqual({ webhook: "ops", delivered: true, attempts: 3, error: null })
      expect(receiver.received.map((r) => [r.signatureValid, r.headers["x-alert-id"]])).toEqual([
        [true, "01ALERT"],
        [true, "01ALERT"],
        [true, "01ALERT"]
      ])
      expect(yield* store.deadLetters(10)).toEqual([])
    }))

  it.scopedLive("a delivery that fails every attempt is kept as a dead letter", () =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver(() => 503)
      const { hooks, store } = yield* webhooks({ ops: `http://127.0.0.1:${receiver.port}/hook` }, ["127.0.0.1"])
      const delivery = yield* hooks.deliver("ops", alert)
      expect(delivery).toMatchObject({ delivered: false, attempts: 3, error: "the receiver answered HTTP 503" })
      const [letter] = yield* store.deadLetters(10)
      expect(letter).toMatchObject({
        webhook: "ops",
        schedule_id: "s1",
        run_id: "r1",
        attempts: 3,
        last_error: "the receiver answered HTTP 503"
      })
      expect(JSON.parse(letter!.payload)).toEqual(alert)
    }))

  it.scopedLive("a delivery the server stops between retries is kept as a dead letter too", () =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver(() => 503)
      const { hooks, store } = yield* webhooks({ ops: `http://127.0.0.1:${receiver.port}/hook` }, ["127.0.0.1"], 600)
      const fiber = yield* Effect.fork(hooks.deliver("ops", alert))
      yield* eventually("the first attempt", Effect.sync(() => receiver.received.length === 1))
      yield* Fiber.interrupt(fiber)
      const [letter] = yield* store.deadLetters(10)
      expect(letter).toMatchObject({ attempts: 1, last_error: "the server stopped before the delivery succeeded" })
    }))

  it.scopedLive("a URL outside watch.webhook_egress gets nothing, not even a retry: loopback only when listed", () =>
    Effect.gen(function*() {
      const receiver = yield* startReceiver()
      const { hooks, store } = yield* webhooks({ ops: `http://127.0.0.1:${receiver.port}/hook` }, ["hooks.example.com"])
      const delivery = yield* hooks.deliver("ops", alert)
      expect(delivery).toMatchObject({ delivered: false, attempts: 1, error: "refused: 127.0.0.1 is not in watch.webhook_egress" })
      expect(receiver.received).toEqual([])
      expect((yield* store.deadLetters(10)).length).toBe(1)
    }))
})
