import { Context, Deferred, Duration, Effect, Layer } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { Events } from "../events/Events.js"
import { ExecutionGate } from "../execution/ExecutionGate.js"

/**
 * The request for a graceful shutdown: `runMain` makes it on the first
 * SIGTERM/SIGINT, a test by calling `request`. It is kept when it comes
 * while the server is still starting, so a program that reaches `requested`
 * later still sees it.
 */
export class Shutdown extends Context.Tag("security-mcp/Shutdown")<
  Shutdown,
  {
    /** Waits for the first request, now or later, and returns its reason (e.g. `SIGTERM`). */
    readonly requested: Effect.Effect<string>
    /** Asks for a graceful shutdown; false when one had been asked for already. */
    readonly request: (reason: string) => Effect.Effect<boolean>
  }
>() {
  static readonly make = Effect.map(Deferred.make<string>(), (asked) =>
    Shutdown.of({
      requested: Deferred.await(asked),
      request: (reason) => Deferred.succeed(asked, reason)
    }))

  static readonly layer = Layer.effect(Shutdown, Shutdown.make)
}

/**
 * Waits for the shutdown request, then drains: `/events` streams get their
 * last event (`server.shutdown`) and end, `/health` answers 503 `draining`,
 * new executions and MCP sessions are refused, calls waiting for a slot are
 * turned away, running ones get `server.shutdown_grace_period`, and those
 * still running after it are interrupted (their process groups killed) and
 * answer 503 with the typed error. Returns the reason.
 */
export const drainOnShutdown: Effect.Effect<string, never, Shutdown | ExecutionGate | ConfigService | Events> = Effect.gen(function*() {
  const reason = yield* Effect.flatMap(Shutdown, (shutdown) => shutdown.requested)
  yield* Effect.logInfo(`${reason}: draining`)
  yield* Effect.flatMap(Events, (events) => events.publish({ type: "server.shutdown", reason }))
  const gate = yield* ExecutionGate
  const config = yield* (yield* ConfigService).get
  const left = yield* gate.drain(Duration.seconds(config.server.shutdown_grace_period))
  if (left > 0) yield* Effect.logWarning(`killing ${left} running executions`)
  return reason
})
