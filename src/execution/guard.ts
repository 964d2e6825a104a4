import { Cause, Effect, Exit, Option, Stream } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AuditUnavailable, ResourceLimitsUnavailable, SpawnFailed } from "../errors.js"
import type { ExecutionOutcome } from "../ExecutionOutcome.js"
import { labelled } from "../observability/labelled.js"
import { toolActive } from "../observability/metrics.js"
import { ToolStats } from "../observability/ToolStats.js"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import { ConcurrencyLimiter } from "../resilience/ConcurrencyLimiter.js"
import type { RunResult } from "../runner/ProcessRunner.js"
import type { Call } from "./call.js"
import { ExecutionGate } from "./ExecutionGate.js"
import type { Plan } from "./plan.js"
import { judge } from "./result.js"
import { effectiveLimits } from "./toolInfo.js"

// The label set of each tool is made once (labelled.ts), not a tagged metric per call.
const active = labelled(toolActive, ["tool"])

/** A bad process outcome counts against the breaker; a timeout only when the tool had its configured time. */
export const countsAsFailure = (outcome: ExecutionOutcome, plan: Plan): boolean =>
  outcome === "timeout" ? plan.timeoutCountsAgainstBreaker : outcome !== "success"

/**
 * Runs a planned call inside its tool's queue and breaker. Waiting for a slot
 * happens outside the breaker: a full queue says nothing about the tool's
 * health, and a half-open trial must not be spent waiting. Only spawn
 * failures and bad process outcomes count against it. The caller holds at
 * most its share of the tool's slots and queue (`tool.client_share`; the
 * stdio operator is the only client there is); a call still waiting when
 * the server begins to drain is turned away, never started.
 */
export const makeGuard = Effect.gen(function*() {
  const config = yield* ConfigService
  const limiter = yield* ConcurrencyLimiter
  const breakers = yield* CircuitBreakers
  const stats = yield* ToolStats
  const gate = yield* ExecutionGate
  // Limits are read at admission, and every reload re-reads them for those waiting: a raised limit wakes them.
  yield* config.changes.pipe(Stream.runForEach(() => limiter.retune), Effect.forkScoped)
  const concurrencyOf = (plan: Plan) => Effect.map(config.get, (c) => effectiveLimits(plan.tool.spec, c).concurrency)
  const fairness = (call: Call) =>
    Effect.map(config.get, (c) => ({
      client: call.caller.id,
      share: call.caller.transport === "stdio" ? 1 : c.tool.client_share,
      abort: gate.whenDraining(call.tool)
    }))
  return (call: Call, plan: Plan, run: Effect.Effect<RunResult, SpawnFailed | ResourceLimitsUnavailable | AuditUnavailable>) => {
    const labels = [call.tool]
    const counted = Effect.acquireUseRelease(active.modify(labels, 1), () => run, () => active.modify(labels, -1))
    const protectedRun = breakers.protect(call.tool, stats.trackActive(call.tool, counted), {
      isFailure: Exit.match({
        onFailure: (cause) => Option.exists(Cause.failureOption(cause), (error) => error._tag === "SpawnFailed"),
        onSuccess: (result) => countsAsFailure(judge(plan.tool.spec, result).outcome, plan)
      })
    })
    return Effect.flatMap(
      fairness(call),
      (fair) =>
        limiter.withPermit(call.tool, concurrencyOf(plan), plan.queueSize, fair)(Effect.zipRight(gate.mayStart(call.tool), protectedRun))
    )
  }
})
