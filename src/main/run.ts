import { Cause, Effect, Exit, Fiber } from "effect"

/** Resolves with the name of the first SIGTERM/SIGINT. */
export const shutdownSignal = Effect.async<NodeJS.Signals>((resume) => {
  const handler = (signal: NodeJS.Signals) => resume(Effect.succeed(signal))
  process.once("SIGTERM", handler)
  process.once("SIGINT", handler)
  return Effect.sync(() => {
    process.off("SIGTERM", handler)
    process.off("SIGINT", handler)
  })
})

/**
 * Runs a program to its end and exits the process with its outcome. A second
 * signal during a graceful shutdown interrupts at once, which still runs
 * every finalizer, so tool process groups are killed either way.
 */
export const runMain = <E>(program: Effect.Effect<void, E>): void => {
  const fiber = Effect.runFork(program)
  let signals = 0
  const hard = () => {
    signals += 1
    if (signals > 1) Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGTERM", hard)
  process.on("SIGINT", hard)
  fiber.addObserver((exit) => {
    if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
      process.stderr.write(`fatal: ${Cause.pretty(exit.cause)}\n`)
      process.exit(1)
    }
    process.exit(0)
  })
}
