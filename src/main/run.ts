import { Cause, Effect, Exit, Fiber, RuntimeFlags, RuntimeFlagsPatch } from "effect"
import { Shutdown } from "./Shutdown.js"

/**
 * Runs a program to its end and exits the process with its outcome. The
 * first SIGTERM/SIGINT requests a graceful shutdown through `Shutdown` (the
 * program drains when it reaches `requested`); a second one interrupts at
 * once, which still runs every finalizer, so tool process groups are killed
 * either way.
 */
export const runMain = <E>(program: Effect.Effect<void, E, Shutdown>): void => {
  const shutdown = Effect.runSync(Shutdown.make)
  // Effect's fiber counters are on by default and are updated on every fiber start and end: a cost on every
  // request for series nobody asked for. The server's own metrics are in src/observability/metrics.ts.
  const fiber = Effect.runFork(
    program.pipe(
      Effect.provideService(Shutdown, shutdown),
      Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.disable(RuntimeFlags.RuntimeMetrics))
    )
  )
  const onSignal = (signal: NodeJS.Signals) => {
    if (!Effect.runSync(shutdown.request(signal))) Effect.runFork(Fiber.interrupt(fiber))
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
