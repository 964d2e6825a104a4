import { Cause, Context, Deferred, type Duration, Effect, Exit, Fiber, FiberId, Layer } from "effect"
import { ToolUnavailable } from "../errors.js"

/** The typed refusals of a draining server: each says what happened to the call and what to do. */
export const shuttingDown = {
  notAccepted: (tool: string) =>
    new ToolUnavailable({
      tool,
      message: "the server is shutting down and accepts no new calls; retry against another instance or after the restart"
    }),
  notStarted: (tool: string) =>
    new ToolUnavailable({
      tool,
      message:
        "the server is shutting down: this call was still waiting for a free slot and was not started; retry against another instance or after the restart"
    }),
  killed: (tool: string) =>
    new ToolUnavailable({
      tool,
      message:
        "the server shut down: this call was still running when the shutdown grace period (server.shutdown_grace_period) ended, so its process was killed; retry against another instance or after the restart"
    })
}

/**
 * Graceful shutdown: once draining, new executions are refused, calls still
 * waiting for a slot are turned away rather than started, and running ones
 * get up to the grace period to finish. Whatever still runs after that is
 * interrupted here (its process group killed) and answers with a typed
 * error, not an empty response; the drain waits for all of them. Closing the
 * transports alone does not wait for that: the process would exit with the
 * tools still running.
 */
export class ExecutionGate extends Context.Tag("security-mcp/ExecutionGate")<
  ExecutionGate,
  {
    /** Counts the call in flight while it runs (the drain waits for it); refused once the drain has begun. */
    readonly track: <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ToolUnavailable, R>
    /**
     * The part of a tracked call that runs its process: interrupted when the
     * grace period ends, and then failing with why. Only this part runs in a
     * fiber of its own, which the end of the grace period interrupts: a call
     * refused while planning, as most refused calls are, never pays for one.
     */
    readonly untilKilled: <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ToolUnavailable, R>
    /**
     * Stops admitting executions and waits until none run or `grace` has
     * passed, then interrupts those still running and waits for them to end;
     * returns how many had to be interrupted.
     */
    readonly drain: (grace: Duration.DurationInput) => Effect.Effect<number>
    readonly inFlight: Effect.Effect<number>
    /** Whether the drain has begun (health answers `draining`, new sessions are refused). */
    readonly draining: Effect.Effect<boolean>
    /** `draining`, read without an effect. */
    readonly drainingNow: () => boolean
    /** Fails once the drain begins (at once when it has): what a call waiting for its slot races against. */
    readonly whenDraining: (tool: string) => Effect.Effect<never, ToolUnavailable>
    /** Fails when the drain has begun: checked right before a call's process starts. */
    readonly mayStart: (tool: string) => Effect.Effect<void, ToolUnavailable>
  }
>() {
  static readonly layer = Layer.sync(ExecutionGate, () => {
    let inFlight = 0
    const draining = Deferred.unsafeMake<void>(FiberId.none)
    /** The runs under way, each in its own fiber; set once the grace period has ended. */
    const runs = new Set<Fiber.RuntimeFiber<unknown, unknown>>()
    let killing = false
    /** Open exactly when nothing runs: every change of `inFlight` updates it in the same synchronous step, so the two never disagree. */
    const idle = Effect.unsafeMakeLatch(true)
    const isDraining = Deferred.isDone(draining)
    /** Set in the same step as `draining` completes: admission reads it without an effect. */
    let closed = false

    const leave = Effect.sync(() => {
      inFlight -= 1
      if (inFlight === 0) idle.unsafeOpen()
    })

    /**
     * The run in a fiber of its own, registered before it can be interrupted.
     * The end of the grace period interrupts it (its finalizers kill its
     * process group) and the call fails with why; a caller that goes away
     * interrupts it too, and waits for it. One fiber, not a race's two.
     */
    const untilKilled = <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | ToolUnavailable, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(Effect.fork(restore(effect)), (fiber) => {
          runs.add(fiber)
          if (killing) fiber.unsafeInterruptAsFork(FiberId.none)
          return restore(Fiber.await(fiber)).pipe(
            Effect.onInterrupt(() => Fiber.interrupt(fiber)),
            Effect.ensuring(Effect.sync(() => runs.delete(fiber))),
            Effect.flatMap((exit): Effect.Effect<A, E | ToolUnavailable> =>
              killing && Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
                ? Effect.fail(shuttingDown.killed(tool))
                : exit
            )
          )
        })
      )

    return {
      inFlight: Effect.sync(() => inFlight),
      draining: isDraining,
      drainingNow: () => closed,
      whenDraining: (tool) => Effect.zipRight(Deferred.await(draining), Effect.failSync(() => shuttingDown.notStarted(tool))),
      mayStart: (tool) => Effect.flatMap(isDraining, (closed) => (closed ? Effect.fail(shuttingDown.notStarted(tool)) : Effect.void)),
      untilKilled,
      // Counted and uncounted in one uninterruptible step each, so an interruption can never leave the count wrong.
      track: <A, E, R>(tool: string, effect: Effect.Effect<A, E, R>) =>
        Effect.uninterruptibleMask((restore) =>
          Effect.suspend((): Effect.Effect<A, E | ToolUnavailable, R> => {
            if (closed) return Effect.fail(shuttingDown.notAccepted(tool))
            inFlight += 1
            idle.unsafeClose()
            return Effect.ensuring(restore(effect), leave)
          })
        ),
      drain: (grace) =>
        Effect.gen(function*() {
          closed = true
          yield* Deferred.succeed(draining, undefined)
          yield* idle.await.pipe(Effect.timeout(grace), Effect.ignore)
          const left = inFlight
          killing = true
          yield* Effect.forEach([...runs], Fiber.interruptFork, { discard: true })
          yield* idle.await
          return left
        })
    }
  })
}
