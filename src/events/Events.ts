import { Clock, Context, Effect, Layer, Queue, Runtime, Schema, type Scope } from "effect"
import { BreakerState } from "../BreakerState.js"
import { ExecutionOutcome } from "../ExecutionOutcome.js"

const ExecutionStarted = Schema.Struct({
  type: Schema.Literal("execution.started"),
  tool: Schema.String,
  correlationId: Schema.String,
  caller: Schema.String,
  target: Schema.String
})

const ExecutionFinished = Schema.Struct({
  type: Schema.Literal("execution.finished"),
  tool: Schema.String,
  correlationId: Schema.String,
  caller: Schema.String,
  outcome: ExecutionOutcome,
  errorType: Schema.NullOr(Schema.String),
  durationSeconds: Schema.Number
})

/** What a running scan's stream parser has counted so far (nmap, masscan): sent as it grows, at most once per change. */
const ScanProgress = Schema.Struct({
  type: Schema.Literal("scan.progress"),
  scanId: Schema.String,
  caller: Schema.String,
  target: Schema.String,
  hostsSeen: Schema.Number,
  hostsUp: Schema.Number,
  openPorts: Schema.Number,
  percent: Schema.optional(Schema.Number)
})

const BreakerTransition = Schema.Struct({
  type: Schema.Literal("breaker.transition"),
  tool: Schema.String,
  from: BreakerState,
  to: BreakerState
})

const ConfigReloaded = Schema.Struct({
  type: Schema.Literal("config.reloaded"),
  changed: Schema.Array(Schema.String),
  restartRequired: Schema.Array(Schema.String)
})

const ConfigRejected = Schema.Struct({
  type: Schema.Literal("config.rejected"),
  message: Schema.String,
  issues: Schema.Array(Schema.String)
})

const HealthChanged = Schema.Struct({ type: Schema.Literal("health.changed"), from: Schema.String, to: Schema.String })

const ApprovalRequested = Schema.Struct({
  type: Schema.Literal("approval.requested"),
  approvalId: Schema.String,
  tool: Schema.String,
  target: Schema.String,
  resolvedTarget: Schema.String,
  argv: Schema.Array(Schema.String),
  engagement: Schema.String,
  requestedBy: Schema.String,
  expiresAt: Schema.String
})

const ApprovalDecided = Schema.Struct({
  type: Schema.Literal("approval.decided"),
  approvalId: Schema.String,
  decision: Schema.Literal("approved", "denied", "revoked"),
  decidedBy: Schema.String,
  requestedBy: Schema.String,
  engagement: Schema.String,
  reason: Schema.String
})

const ToolSwitched = Schema.Struct({ type: Schema.Literal("tool.enabled", "tool.disabled"), tool: Schema.String })

const ScheduleRunFinished = Schema.Struct({
  type: Schema.Literal("schedule.run"),
  scheduleId: Schema.String,
  runId: Schema.String,
  owner: Schema.String,
  status: Schema.String,
  scanId: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String)
})

/** A scheduled scan found changes its alert rule matches (also sent to the schedule's webhooks). */
const ScheduleChanged = Schema.Struct({
  type: Schema.Literal("schedule.changed"),
  scheduleId: Schema.String,
  runId: Schema.String,
  owner: Schema.String,
  target: Schema.String,
  changes: Schema.Number,
  fromScanId: Schema.String,
  toScanId: Schema.String,
  summary: Schema.String
})

/** The last event of every `/events` stream: the server drains and will close it (e.g. `reason: "SIGTERM"`). */
const ServerShutdown = Schema.Struct({ type: Schema.Literal("server.shutdown"), reason: Schema.String })

/** Everything operators may want to watch live: fed to `/events` (SSE) and the logs. */
export const ServerEvent = Schema.Union(
  ExecutionStarted,
  ExecutionFinished,
  ScanProgress,
  BreakerTransition,
  ConfigReloaded,
  ConfigRejected,
  HealthChanged,
  ToolSwitched,
  ApprovalRequested,
  ApprovalDecided,
  ScheduleRunFinished,
  ScheduleChanged,
  ServerShutdown
)
export type ServerEvent = typeof ServerEvent.Type

/** An event as subscribers receive it, stamped when it was published (ISO 8601). */
export const TimedEvent = Schema.extend(ServerEvent, Schema.Struct({ timestamp: Schema.String }))
export type TimedEvent = typeof TimedEvent.Type

/** What one subscriber may hold; a slow one loses the oldest events instead of holding memory or back-pressuring executions. */
const CAPACITY = 1024

interface Subscriber {
  readonly queue: Queue.Queue<TimedEvent>
  readonly accepts: (event: ServerEvent) => boolean
}

export class Events extends Context.Tag("security-mcp/Events")<
  Events,
  {
    readonly publish: (event: ServerEvent) => Effect.Effect<void>
    /**
     * `publish` as a plain function, bound to the clock and runtime of the
     * fiber that makes it: for a path that runs no fiber per event.
     */
    readonly publisher: Effect.Effect<(event: ServerEvent) => void>
    /** Every event from now on, for the scope's lifetime. */
    readonly subscribe: Effect.Effect<Queue.Dequeue<TimedEvent>, never, Scope.Scope>
    /**
     * The events `accepts` lets through. Every call publishes events: a
     * subscriber that wants a few kinds is not woken for the others, and
     * when nobody wants an event, publishing it costs a loop over the subscribers.
     */
    readonly subscribeTo: (accepts: (event: ServerEvent) => boolean) => Effect.Effect<Queue.Dequeue<TimedEvent>, never, Scope.Scope>
  }
>() {
  static readonly layer = Layer.sync(Events, () => {
    const subscribers = new Set<Subscriber>()
    const subscribeTo = (accepts: (event: ServerEvent) => boolean) =>
      Effect.acquireRelease(
        Effect.map(Queue.sliding<TimedEvent>(CAPACITY), (queue): Subscriber => {
          const subscriber = { queue, accepts }
          subscribers.add(subscriber)
          return subscriber
        }),
        (subscriber) => Effect.zipRight(Effect.sync(() => subscribers.delete(subscriber)), Queue.shutdown(subscriber.queue))
      ).pipe(Effect.map((subscriber): Queue.Dequeue<TimedEvent> => subscriber.queue))
    const receivers = (event: ServerEvent) => {
      const to: Array<Queue.Queue<TimedEvent>> = []
      for (const subscriber of subscribers) if (subscriber.accepts(event)) to.push(subscriber.queue)
      return to
    }
    const stamped = (event: ServerEvent, now: number): TimedEvent => ({ ...event, timestamp: new Date(now).toISOString() })
    return {
      publish: (event) =>
        Effect.suspend(() => {
          const to = receivers(event)
          if (to.length === 0) return Effect.void
          return Effect.flatMap(Clock.currentTimeMillis, (now) => {
            const timed = stamped(event, now)
            return Effect.forEach(to, (queue) => Queue.offer(queue, timed), { discard: true })
          })
        }),
      publisher: Effect.zipWith(Effect.clock, Effect.runtime<never>(), (clock, runtime) => (event: ServerEvent): void => {
        if (subscribers.size === 0) return
        const to = receivers(event)
        if (to.length === 0) return
        const timed = stamped(event, clock.unsafeCurrentTimeMillis())
        // A full queue drops its oldest event, which only `offer` does (a sliding queue's offer never waits).
        for (const queue of to) if (!Queue.unsafeOffer(queue, timed)) Runtime.runSyncExit(runtime, Queue.offer(queue, timed))
      }),
      subscribe: subscribeTo(() => true),
      subscribeTo
    }
  })
}
