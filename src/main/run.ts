import { Cause, Effect, Exit, Fiber, RuntimeFlags, RuntimeFlagsPatch } from "effect"

/** The first SIGTERM/SIGINT, kept even when it arrives while the server is still starting. */
let received: NodeJS.Signals | undefined
const waiting = new Set<(signal: NodeJS.Signals) => void>()

/** Resolves with the first SIGTERM/SIGINT that `runMain` received, now or later. */
export const shutdownSignal = Effect.async<NodeJS.Signals>((resume) => {
  if (received !== undefined) return resume(Effect.succeed(received))
  const wake = (signal: NodeJS.Signals) => resume(Effect.succeed(signal))
  waiting.add(wake)
  return Effect.sync(() => waiting.delete(wake))
})

/**
 * Runs a program to its end and exits the process with its outcome. The
 * first signal starts a graceful shutdown (the program drains when it reaches
 * `shutdownSignal`); a second one interrupts at once, which still runs every
 * finalizer, so tool process groups are killed either way.
 */
export const runMain = <E>(program: Effect.Effect<void, E>): void => {
  // Effect's fiber counters are on by default and are updated on every fiber start and end: a cost on every
  // request for series nobody asked for. The server's own metrics are in src/observability/metrics.ts.
  const fiber = Effect.runFork(program.pipe(Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.disable(RuntimeFlags.RuntimeMetrics))))
  const onSignal = (signal: NodeJS.Signals) => {
    if (received !== undefined) {
      Effect.runFork(Fiber.interrupt(fiber))
      return
    }
    received = signal
    for (const wake of waiting) wake(signal)
  }
  process.on("SIGTERM", onSignal)
  process.on("SIGINT", onSignal)
  fiber.addObserver((exit) => {
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
      process.stderr.write(`fatal: ${Cause.pretty(exit.cause)}\n`)
      process.exit(1)
    }
    process.exit(0)
  })
}
