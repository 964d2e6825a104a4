import { Cause, Effect, Exit, Fiber } from "effect"

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
  const fiber = Effect.runFork(program)
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
