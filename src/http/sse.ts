import { Clock, Effect, Queue, Schedule, Schema, Stream } from "effect"
import { Events, TimedEvent } from "../events/Events.js"

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
export const eventStream = (draining: Effect.Effect<boolean>): Stream.Stream<Uint8Array, never, Events> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const events = yield* Events
      const subscription = yield* events.subscribe
      const heartbeat = Stream.fromSchedule(Schedule.spaced(HEARTBEAT)).pipe(Stream.as(": heartbeat\n\n"))
      const timestamp = new Date(yield* Clock.currentTimeMillis).toISOString()
      const late: TimedEvent = { type: "server.shutdown", reason: "the server is draining", timestamp }
      const live = (yield* draining)
        ? Stream.make(late)
        : Stream.repeatEffect(Queue.take(subscription)).pipe(Stream.takeUntil(isShutdown))
      return Stream.make(": connected\n\n").pipe(
        Stream.concat(Stream.merge(live.pipe(Stream.map(formatEvent)), heartbeat, { haltStrategy: "left" })),
        Stream.encodeText
      )
    })
  )
