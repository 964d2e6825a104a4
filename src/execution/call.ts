import { Clock, Effect, Either } from "effect"
import { randomUUID } from "node:crypto"
import type { AppConfig } from "../config/schema.js"
import type { InvalidInput, RateLimited } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import { AuditLog } from "../observability/AuditLog.js"
import type { EngagementRef } from "../policy/Engagement.js"
import { RateLimiter } from "../resilience/RateLimiter.js"
import { ToolRegistry } from "../tools/ToolRegistry.js"
import { claimedTarget, decodeToolInput } from "./input.js"
import type { StandingRef, ToolInput } from "./ToolExecutor.js"

/** What metrics call a tool nobody registered: a made-up name must never become a series of its own. */
export const UNKNOWN_TOOL = "unknown"

/**
 * One call as it arrived: who asked for which tool, under which correlation
 * id and for which target, and when. Known before anything is checked, so
 * every outcome, a malformed input included, is recorded against it.
 */
export interface Call {
  /** The tool name as requested; not necessarily a registered one. */
  readonly tool: string
  /** `tool` when a registered tool has that name, `UNKNOWN_TOOL` otherwise: the only tool label metrics may use. */
  readonly toolLabel: string
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
  /** The standing approval a scheduled run claims (set by the scheduler through `ExecuteOptions`, never from input). */
  readonly standing?: StandingRef
}

/** The call's `toolLabel`. */
export const toolLabelOf = (names: ReadonlySet<string>, tool: string): string => names.has(tool) ? tool : UNKNOWN_TOOL

export interface Received {
  readonly call: Call
  readonly input: Either.Either<ToolInput, InvalidInput>
}

/** Decodes the raw input and names the call: the caller's correlation id when it gave a valid one, a new one otherwise. */
export const receive = (tool: string, raw: unknown, caller: Caller, toolLabel: string): Effect.Effect<Received> =>
  Effect.map(Clock.currentTimeNanos, (startedAt) => receivedAt(tool, raw, caller, toolLabel, startedAt))

/** `receive` of a call that arrived at `startedAt` (`Clock.currentTimeNanos`). */
export const receivedAt = (tool: string, raw: unknown, caller: Caller, toolLabel: string, startedAt: bigint): Received => {
  const input = decodeToolInput(raw)
  const call: Call = Either.match(input, {
    onLeft: () => ({
      tool,
      toolLabel,
      caller,
      correlationId: randomUUID(),
      target: claimedTarget(raw),
      startedAt,
      executionId: randomUUID()
    }),
    onRight: (i) => ({
      tool,
      toolLabel,
      caller,
      correlationId: i.correlation_id ?? randomUUID(),
      target: i.target,
      startedAt,
      executionId: randomUUID()
    })
  })
  return { call, input }
}

/** Seconds from the call's arrival to `now` (`Clock.currentTimeNanos`). */
export const secondsSince = (call: Call, now: bigint): number => Number(now - call.startedAt) / 1e9

/** Seconds since the call arrived, on the monotonic clock. */
export const elapsedSeconds = (call: Call): Effect.Effect<number> => Effect.map(Clock.currentTimeNanos, (now) => secondsSince(call, now))

/** Whether admission takes a token from the client's bucket (`makeAdmission`), on either transport. */
export const admissionLimited = (config: AppConfig): boolean => config.rate_limit.enabled

/**
 * The bucket every call of a client takes first, whatever it asks for. A
 * stdio server has one client, the local operator who started it, with its
 * own, higher limits.
 */
const clientBucket = (rates: RateLimiter["Type"], caller: Caller, config: AppConfig): Effect.Effect<void, RateLimited> | undefined => {
  const limits = config.rate_limit
  if (!admissionLimited(config)) return undefined
  return caller.transport === "stdio"
    ? rates.take(`stdio:${caller.id}`, limits.stdio_requests_per_minute, limits.stdio_burst)
    : rates.take(`client:${caller.id}`, limits.client_requests_per_minute, limits.burst)
}

/**
 * Admission, the first step of every call: the client's own bucket is taken
 * before anything is spent on the call (decoding, the tool lookup, an audit
 * line, metrics, an event), so a flood of malformed calls or made-up tool
 * names costs as little as a rate limit can make it. A call past the limit
 * is counted into its client's aggregated rejections line
 * (`AuditLog.overLimit`) and refused; one within it is received.
 */
export const makeAdmission: Effect.Effect<
  (tool: string, raw: unknown, caller: Caller, config: AppConfig) => Effect.Effect<Received, RateLimited>,
  never,
  RateLimiter | AuditLog | ToolRegistry
> = Effect.gen(function*() {
  const rates = yield* RateLimiter
  const audit = yield* AuditLog
  const registry = yield* ToolRegistry
  return (tool, raw, caller, config) => {
    const label = toolLabelOf(registry.names, tool)
    const bucket = clientBucket(rates, caller, config)
    const received = receive(tool, raw, caller, label)
    return bucket === undefined ? received : bucket.pipe(
      Effect.tapError((error) => audit.overLimit({ caller, tool: label, reason: error._tag })),
      Effect.zipRight(received)
    )
  }
})
