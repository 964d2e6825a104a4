import { Context, type Duration, Effect, Fiber, Layer } from "effect"
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
  static readonly layer = Layer.sync(ExecutionGate, () => {
    let draining = false
    let inFlight = 0
    const running = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
    /** Open exactly when nothing runs: every change of `inFlight` updates it in the same synchronous step, so the two never disagree. */
    const idle = Effect.unsafeMakeLatch(true)

    const admit = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
      Effect.sync(() => {
        if (draining) return false
        inFlight += 1
        running.add(fiber)
        idle.unsafeClose()
        return true
      })

    const leave = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
      Effect.sync(() => {
        inFlight -= 1
        running.delete(fiber)
        if (inFlight === 0) idle.unsafeOpen()
      })

    return {
      inFlight: Effect.sync(() => inFlight),
      track: <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>) =>
        Effect.withFiberRuntime<A, E | ToolUnavailable, R>((fiber) =>
          Effect.acquireUseRelease(
            admit(fiber),
            (admitted): Effect.Effect<A, E | ToolUnavailable, R> =>
              admitted ? effect : Effect.fail(new ToolUnavailable({ tool, message: "the server is shutting down" })),
            (admitted) => (admitted ? leave(fiber) : Effect.void)
          )
        ),
      drain: (grace) =>
        Effect.gen(function*() {
          yield* Effect.sync(() => {
            draining = true
          })
          yield* idle.await.pipe(Effect.timeout(grace), Effect.ignore)
          const left = [...running]
          yield* Effect.forEach(left, Fiber.interrupt, { concurrency: "unbounded", discard: true })
          return left.length
        })
    }
  })
}
