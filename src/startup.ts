import { Context, Deferred, Effect, FiberId, Layer } from "effect"

/**
 * Start-up work that no request waits for — opening the store, asking each
 * binary its version, the first health round, an MCP session's first look
 * at its tool list, the scheduler's first look at the schedules — is started
 * in the background, but background fibers run as soon as the program
 * yields, before the event loop reads what a client has already sent: a
 * stdio client's `initialize` would be answered only after all of it. Such
 * work waits instead until the program serves its transport and the
 * requests already waiting have been read. (The executor's calls wait for
 * the operator switches the store holds: see execution/switches.ts.)
 *
 * Outside a program that says when it serves (tests, tools), the work runs
 * at once: the default is no waiting.
 */
export interface StartupService {
  /** `work`, once the program serves and what clients sent meanwhile has been read. */
  readonly background: <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** The program serves its transport (stdin is read, the port listens). */
  readonly serving: Effect.Effect<void>
}

/**
 * Two turns of the event loop's check phase (`setImmediate`): the poll
 * phase between them reads whatever is waiting on the transport, and its
 * handlers run first. Not a duration: nothing here follows a clock.
 */
export const afterWaitingInput = Effect.async<void>((resume) => {
  let handle = setImmediate(() => {
    handle = setImmediate(() => resume(Effect.void))
  })
  return Effect.sync(() => clearImmediate(handle))
})

export class Startup extends Context.Reference<Startup>()("security-mcp/Startup", {
  defaultValue: (): StartupService => ({ background: (work) => work, serving: Effect.void })
}) {
  /** Background work waits for `serving`, which the program says. */
  static readonly layer = Layer.sync(Startup, (): StartupService => {
    const serving = Deferred.unsafeMake<void>(FiberId.none)
    const ready = Effect.zipRight(Deferred.await(serving), afterWaitingInput)
    return {
      background: (work) => Effect.zipRight(ready, work),
      serving: Effect.asVoid(Deferred.succeed(serving, undefined))
    }
  })
}
