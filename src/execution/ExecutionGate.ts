import { Context, Duration, Effect, Fiber, Layer, Ref, Schedule } from "effect"
import { ToolUnavailable } from "../errors.js"

/**
 * Graceful shutdown: once draining, new executions are refused while running
 * ones get up to the grace period to finish; whatever still runs after that
 * is interrupted here, and awaited, so its process group is killed before the
 * server exits. Closing the transports alone does not wait for that: the
 * process would exit with the tools still running.
 */
export class ExecutionGate extends Context.Tag("security-mcp/ExecutionGate")<
  ExecutionGate,
  {
    readonly track: <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ToolUnavailable, R>
    /**
     * Stops admitting executions and waits until none run or `grace` has
     * passed, then interrupts those still running and waits for them to end;
     * returns how many had to be interrupted.
     */
    readonly drain: (grace: Duration.DurationInput) => Effect.Effect<number>
    readonly inFlight: Effect.Effect<number>
  }
>() {
  static readonly layer = Layer.effect(
    ExecutionGate,
    Effect.gen(function*() {
      const state = yield* Ref.make({ draining: false, inFlight: 0 })
      const running = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
      const inFlight = Effect.map(Ref.get(state), (s) => s.inFlight)
      return {
        inFlight,
        track: <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>) =>
          Effect.withFiberRuntime<A, E | ToolUnavailable, R>((fiber) =>
            Effect.acquireUseRelease(
              Ref.modify(state, (s) => s.draining ? [false, s] as const : [true, { ...s, inFlight: s.inFlight + 1 }] as const).pipe(
                Effect.tap((admitted) => admitted ? Effect.sync(() => running.add(fiber)) : Effect.void)
              ),
              (admitted): Effect.Effect<A, E | ToolUnavailable, R> =>
                admitted ? effect : Effect.fail(new ToolUnavailable({ tool, message: "the server is shutting down" })),
              (admitted) =>
                admitted
                  ? Effect.zipRight(
                    Effect.sync(() => running.delete(fiber)),
                    Ref.update(state, (s) => ({ ...s, inFlight: s.inFlight - 1 }))
                  )
                  : Effect.void
            )
          ),
        drain: (grace) =>
          Effect.gen(function*() {
            yield* Ref.update(state, (s) => ({ ...s, draining: true }))
            yield* inFlight.pipe(
              Effect.repeat({ until: (n) => n === 0, schedule: Schedule.spaced(Duration.millis(50)) }),
              Effect.timeout(grace),
              Effect.ignore
            )
            const left = [...running]
            yield* Effect.forEach(left, Fiber.interrupt, { concurrency: "unbounded", discard: true })
            return left.length
          })
      }
    })
  )
}
