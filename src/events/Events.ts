import { Clock, Context, Effect, Layer, PubSub, type Queue, Schema, type Scope } from "effect"
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
  decision: Schema.Literal("approved", "denied"),
  decidedBy: Schema.String,
  requestedBy: Schema.String,
  engagement: Schema.String,
  reason: Schema.String
})

const ToolSwitched = Schema.Struct({ type: Schema.Literal("tool.enabled", "tool.disabled"), tool: Schema.String })

/** The last event of every `/events` stream: the server drains and will close it (e.g. `reason: "SIGTERM"`). */
const ServerShutdown = Schema.Struct({ type: Schema.Literal("server.shutdown"), reason: Schema.String })

/** Everything operators may want to watch live: fed to `/events` (SSE) and the logs. */
export const ServerEvent = Schema.Union(
  ExecutionStarted,
  ExecutionFinished,
  BreakerTransition,
  ConfigReloaded,
  ConfigRejected,
  HealthChanged,
  ToolSwitched,
  ApprovalRequested,
  ApprovalDecided,
  ServerShutdown
)
export type ServerEvent = typeof ServerEvent.Type

/** An event as subscribers receive it, stamped when it was published (ISO 8601). */
export const TimedEvent = Schema.extend(ServerEvent, Schema.Struct({ timestamp: Schema.String }))
export type TimedEvent = typeof TimedEvent.Type

export class Events extends Context.Tag("security-mcp/Events")<
  Events,
  {
    readonly publish: (event: ServerEvent) => Effect.Effect<void>
    readonly subscribe: Effect.Effect<Queue.Dequeue<TimedEvent>, never, Scope.Scope>
  }
>() {
  /** Slow subscribers lose the oldest events instead of holding memory or back-pressuring executions. */
  static readonly layer = Layer.effect(
    Events,
    Effect.gen(function*() {
      const hub = yield* PubSub.sliding<TimedEvent>(1024)
      return {
        publish: (event) =>
          Clock.currentTimeMillis.pipe(
            Effect.flatMap((now) => PubSub.publish(hub, { ...event, timestamp: new Date(now).toISOString() })),
            Effect.asVoid
          ),
        subscribe: PubSub.subscribe(hub)
      }
    })
  )
}
