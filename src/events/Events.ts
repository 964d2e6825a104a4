import { Context, Effect, Layer, PubSub, type Queue, type Scope } from "effect"

/** Everything operators may want to watch live: fed to `/events` (SSE) and the logs. */
export type ServerEvent =
  | {
    readonly type: "execution.started"
    readonly tool: string
    readonly correlationId: string
    readonly caller: string
    readonly target: string
  }
  | {
    readonly type: "execution.finished"
    readonly tool: string
    readonly correlationId: string
    readonly caller: string
    readonly outcome: "success" | "failure" | "timeout" | "rejected" | "cancelled"
    readonly errorType: string | null
    readonly durationSeconds: number
  }
  | { readonly type: "breaker.transition"; readonly tool: string; readonly from: string; readonly to: string }
  | { readonly type: "config.reloaded"; readonly changed: ReadonlyArray<string>; readonly restartRequired: ReadonlyArray<string> }
  | { readonly type: "config.rejected"; readonly message: string; readonly issues: ReadonlyArray<string> }
  | { readonly type: "health.changed"; readonly from: string; readonly to: string }
  | { readonly type: "tool.enabled" | "tool.disabled"; readonly tool: string }

export type TimedEvent = ServerEvent & { readonly timestamp: string }

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
        publish: (event) => PubSub.publish(hub, { ...event, timestamp: new Date().toISOString() }).pipe(Effect.asVoid),
        subscribe: PubSub.subscribe(hub)
      }
    })
  )
}
