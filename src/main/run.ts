import { Cause, Effect, Exit, Fiber, Option, RuntimeFlags, RuntimeFlagsPatch } from "effect"
import { Shutdown } from "./Shutdown.js"

/**
 * What a failed start-up prints: a typed failure (the configuration is
 * invalid, the port is taken) as its message and, like `validate`, one line
 * per issue naming the key and the reason, without a stack trace; only a
 * defect (a bug) gets the full cause.
 */
export const failureText = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isNone(failure)) return Cause.pretty(cause)
  const error = failure.value as { readonly message?: unknown; readonly issues?: unknown }
  const message = typeof error?.message === "string" ? error.message : String(failure.value)
  const issues = Array.isArray(error?.issues) ? error.issues.map((issue) => `  ${String(issue)}`) : []
  return [message, ...issues].join("\n")
}

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
      process.stderr.write(`fatal: ${failureText(exit.cause)}\n`)
      process.exit(1)
    }
    process.exit(0)
  })
}
