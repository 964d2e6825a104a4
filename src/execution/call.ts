import { Clock, Effect, Either } from "effect"
import { randomUUID } from "node:crypto"
import type { InvalidInput } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import type { EngagementRef } from "../policy/Engagement.js"
import { claimedTarget, decodeToolInput } from "./input.js"
import type { ToolInput } from "./ToolExecutor.js"

/**
 * One call as it arrived: who asked for which tool, under which correlation
 * id and for which target, and when. Known before anything is checked, so
 * every outcome, a malformed input included, is recorded against it.
 */
export interface Call {
  /** The tool name as requested; not necessarily a registered one. */
  readonly tool: string
  readonly caller: Caller
  readonly correlationId: string
  /** The target as the caller wrote it (for a malformed input, whatever short string it named). */
  readonly target: string
  /** `Clock.currentTimeNanos` when the call arrived (monotonic). */
  readonly startedAt: bigint
  /** Names this execution alone (callers may reuse correlation ids): pairs its audit `started` line with its outcome line. */
  readonly executionId: string
  /** The engagement the call acts in, once chosen (see `engage` in engage.ts); absent outside one. */
  readonly engagement?: EngagementRef
}

export interface Received {
  readonly call: Call
  readonly input: Either.Either<ToolInput, InvalidInput>
}

/** Decodes the raw input and names the call: the caller's correlation id when it gave a valid one, a new one otherwise. */
export const receive = (tool: string, raw: unknown, caller: Caller): Effect.Effect<Received> =>
  Effect.map(Clock.currentTimeNanos, (startedAt) => {
    const input = decodeToolInput(raw)
    const call: Call = Either.match(input, {
      onLeft: () => ({ tool, caller, correlationId: randomUUID(), target: claimedTarget(raw), startedAt, executionId: randomUUID() }),
      onRight: (i) => ({
        tool,
        caller,
        correlationId: i.correlation_id ?? randomUUID(),
        target: i.target,
        startedAt,
        executionId: randomUUID()
      })
    })
    return { call, input }
  })

/** Seconds since the call arrived, on the monotonic clock. */
export const elapsedSeconds = (call: Call): Effect.Effect<number> =>
  Effect.map(Clock.currentTimeNanos, (now) => Number(now - call.startedAt) / 1e9)
