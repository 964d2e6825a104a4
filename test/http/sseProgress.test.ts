import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Option, PubSub, Stream, TestClock } from "effect"
import { scanProgress } from "../../src/http/sse.js"
import type { LiveProgress, ScanRecorderService, ScanUpdate } from "../../src/storage/ScanRecorder.js"

/** A recorder that only tells updates and what its running scans found: what `scanProgress` reads. */
const recorder = (hub: PubSub.PubSub<ScanUpdate>, found: ReadonlyMap<string, LiveProgress>) =>
  ({
    updates: PubSub.subscribe(hub),
    live: (scanId: string) => Effect.succeed(Option.fromNullable(found.get(scanId)))
  }) as unknown as ScanRecorderService

const update = (scan_id: string, state: ScanUpdate["state"]): ScanUpdate => ({
  scan_id,
  caller_id: "operator",
  target: "127.0.0.1",
  resolved_target: "127.0.0.1",
  state
})

describe("scan.progress on /events", () => {
  it.scoped("turns a running scan's update into its counts; finished scans and scans without counts send nothing", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-01-15T10:30:00Z"))
      const hub = yield* PubSub.unbounded<ScanUpdate>()
      const found = new Map<string, LiveProgress>([["A", { hosts_seen: 3, hosts_up: 2, open_ports: 5, percent: 40 }]])
      const fiber = yield* scanProgress(recorder(hub, found)).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
      // The subscription is taken when the stream starts: publish until it is listening.
      yield* Effect.yieldNow().pipe(Effect.repeatN(10))
      yield* PubSub.publish(hub, update("A", "finished"))
      yield* PubSub.publish(hub, update("B", "running"))
      yield* PubSub.publish(hub, update("A", "running"))
      const events = Chunk.toReadonlyArray(yield* Fiber.join(fiber))
      expect(events).toEqual([{
        type: "scan.progress",
        scanId: "A",
        caller: "operator",
        target: "127.0.0.1",
        hostsSeen: 3,
        hostsUp: 2,
        openPorts: 5,
        percent: 40,
        timestamp: "2026-01-15T10:30:00.000Z"
      }])
    }))
})
