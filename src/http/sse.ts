import { Clock, Effect, Option, Queue, Schedule, Schema, Stream } from "effect"
import { Events, TimedEvent } from "../events/Events.js"
import type { ScanRecorderService, ScanUpdate } from "../storage/ScanRecorder.js"

/** Proxies drop idle connections; a comment line every 15 s keeps the stream open and reveals dead clients. */
export const HEARTBEAT = "15 seconds"

const eventJson = Schema.encodeSync(Schema.parseJson(TimedEvent))

/** One SSE frame: the event's type as the SSE event name, its JSON (through the `TimedEvent` schema) as the data. */
export const formatEvent = (event: TimedEvent): string => `event: ${event.type}\ndata: ${eventJson(event)}\n\n`

const isShutdown = (event: TimedEvent) => event.type === "server.shutdown"

/**
 * The SSE body of `/events`. The subscription is taken before the first byte
 * (`: connected`) is sent, so a client that saw the response start misses no
 * later event; it ends when the response stream is interrupted (client gone)
 * or, cleanly, after the `server.shutdown` event the drain publishes. A
 * client that connects while the server drains gets that event at once.
 */
export const eventStream = (
  draining: Effect.Effect<boolean>,
  more: Stream.Stream<TimedEvent> = Stream.empty
): Stream.Stream<Uint8Array, never, Events> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const events = yield* Events
      const subscription = yield* events.subscribe
      const heartbeat = Stream.fromSchedule(Schedule.spaced(HEARTBEAT)).pipe(Stream.as(": heartbeat\n\n"))
      const timestamp = new Date(yield* Clock.currentTimeMillis).toISOString()
      const late: TimedEvent = { type: "server.shutdown", reason: "the server is draining", timestamp }
      const live = (yield* draining)
        ? Stream.make(late)
        : Stream.merge(Stream.repeatEffect(Queue.take(subscription)).pipe(Stream.takeUntil(isShutdown)), more, { haltStrategy: "left" })
      return Stream.make(": connected\n\n").pipe(
        Stream.concat(Stream.merge(live.pipe(Stream.map(formatEvent)), heartbeat, { haltStrategy: "left" })),
        Stream.encodeText
      )
    })
  )

const progressEvent = (update: ScanUpdate, recorder: ScanRecorderService) =>
  Effect.zipWith(recorder.live(update.scan_id), Clock.currentTimeMillis, (live, now) =>
    Option.map(live, (found): TimedEvent => ({
      type: "scan.progress",
      scanId: update.scan_id,
      caller: update.caller_id,
      target: update.target,
      hostsSeen: found.hosts_seen,
      hostsUp: found.hosts_up,
      openPorts: found.open_ports,
      ...(found.percent === undefined ? {} : { percent: found.percent }),
      timestamp: new Date(now).toISOString()
    })))

/**
 * `scan.progress` events: what each running scan's parser has counted, as
 * the recorder reports it (which it does only when a count changed). Not
 * published on `Events`: only `/events` readers (admins) want every step.
 */
export const scanProgress = (recorder: ScanRecorderService): Stream.Stream<TimedEvent> =>
  Stream.unwrapScoped(
    Effect.map(recorder.updates, (updates) =>
      Stream.repeatEffect(Queue.take(updates)).pipe(
        Stream.filter((update) => update.state === "running"),
        Stream.mapEffect((update) => progressEvent(update, recorder)),
        Stream.filterMap((event) => event)
      ))
  )
