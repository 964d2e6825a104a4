import { Cause, type Context, Duration, Effect, Exit, Layer, Option } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import type { AuditUnavailable, CircuitOpen, ResourceLimitsUnavailable, SpawnFailed, ToolBusy, ToolUnavailable } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import { ToolStats } from "../observability/ToolStats.js"
import type { Resolver } from "../policy/Resolver.js"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import type { RateLimiter } from "../resilience/RateLimiter.js"
import { ProcessRunner, type RunResult } from "../runner/ProcessRunner.js"
import { Approvals } from "../storage/Approvals.js"
import { type RegisteredTool, ToolRegistry } from "../tools/ToolRegistry.js"
import { type Call, elapsedSeconds, makeAdmission } from "./call.js"
import { engage } from "./engage.js"
import { ExecutionGate } from "./ExecutionGate.js"
import { makeGuard } from "./guard.js"
import { type ExecutorOptions, type Plan, planCall } from "./plan.js"
import { makeProgressTracker, observeOutput, progressObserver, type ProgressTracker } from "./progress.js"
import { cancelled, failedEnding, makeRecorder, type Recorder } from "./record.js"
import { executionResult, judge, parseOutput } from "./result.js"
import { type ExecuteOptions, type StartedCall, ToolExecutor } from "./ToolExecutor.js"
import { toolInfo } from "./toolInfo.js"

/** What a caller learns when its call passed every check and is about to run. */
const startedCall = (call: Call, plan: Plan): StartedCall => ({
  tool: call.tool,
  correlationId: call.correlationId,
  target: plan.target.original,
  resolvedTarget: plan.target.pinned,
  argv: [plan.request.command, ...plan.request.args],
  intrusive: plan.intrusive,
  notes: plan.notes
})

/** Reports the call's progress while `run` runs, at least every `progress_interval`, when the caller asked for progress. */
const withProgress = <A, E>(
  call: Call,
  c: AppConfig,
  opts: ExecuteOptions | undefined,
  run: (tracker: ProgressTracker | undefined) => Effect.Effect<A, E>
) =>
  opts?.onProgress === undefined ? run(undefined) : Effect.flatMap(
    makeProgressTracker(call.tool, call.startedAt, opts.onProgress),
    (tracker) => Effect.raceFirst(run(tracker), tracker.heartbeat(Duration.seconds(c.server.progress_interval)))
  )

/** A run that ended without a process result: recorded, then passed on as it is. */
const unfinished = (
  recorder: Recorder,
  call: Call,
  plan: Plan,
  cause: Cause.Cause<SpawnFailed | ResourceLimitsUnavailable | AuditUnavailable | CircuitOpen | ToolBusy | ToolUnavailable>
) =>
  Effect.gen(function*() {
    if (Cause.isInterruptedOnly(cause)) return yield* Effect.interrupt
    const failure = Cause.failureOption(cause)
    if (Option.isNone(failure)) return yield* Effect.failCause(cause)
    yield* recorder.finished(call, plan, failedEnding(failure.value))
    return yield* Effect.fail(failure.value)
  })

/**
 * The executor: a call is received, planned (every check, down to the exact
 * argv), recorded as started, run inside its tool's queue and breaker,
 * judged and parsed into an `ExecutionResult`, recorded as finished, and
 * returned. Planning (plan.ts), recording (record.ts) and the result
 * (result.ts) live apart, so this file is the story.
 */
export const ToolExecutorLive = (options: ExecutorOptions) =>
  Layer.scoped(
    ToolExecutor,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const registry = yield* ToolRegistry
      const runner = yield* ProcessRunner
      const breakers = yield* CircuitBreakers
      const stats = yield* ToolStats
      const gate = yield* ExecutionGate
      const recorder = yield* makeRecorder
      const guarded = yield* makeGuard
      const admit = yield* makeAdmission
      const planning = yield* Effect.context<ToolRegistry | RateLimiter | Resolver | Approvals>()
      /**
       * Planning with its services. A server's callers run on the layers this
       * executor was built from, so their context holds these very services
       * already, and providing them again would cost a fiber-local update on
       * every call; only a caller without them gets them provided.
       */
      const withPlanning = <A, E>(effect: Effect.Effect<A, E, ToolRegistry | RateLimiter | Resolver | Approvals>) =>
        Effect.contextWithEffect((current: Context.Context<never>) => {
          for (const [key, service] of planning.unsafeMap) {
            if (current.unsafeMap.get(key) !== service) return Effect.provide(effect, planning)
          }
          return effect as Effect.Effect<A, E>
        })

      const describe = (tool: RegisteredTool) =>
        Effect.gen(function*() {
          const c = yield* config.get
          return toolInfo(tool, c, yield* breakers.state(tool.spec.name), yield* stats.forTool(tool.spec.name))
        })

      /** A process that ran: judged, parsed and recorded as one step, so a cancellation now cannot leave it unrecorded. */
      const completed = (call: Call, plan: Plan, run: RunResult, c: AppConfig) =>
        Effect.gen(function*() {
          const durationSeconds = yield* elapsedSeconds(call)
          const verdict = judge(plan.tool.spec, run)
          const result = executionResult(call, plan, run, verdict, yield* parseOutput(plan.tool.spec, run), durationSeconds, c)
          yield* recorder.finished(call, plan, verdict, { result, durationSeconds })
          return result
        }).pipe(Effect.uninterruptible)

      /** A planned call: started, queued, run and recorded; what the end of the shutdown grace period interrupts. */
      const run = (call: Call, plan: Plan, c: AppConfig, opts: ExecuteOptions | undefined) =>
        Effect.gen(function*() {
          yield* recorder.started(call, plan)
          yield* opts?.onStarted?.(startedCall(call, plan)) ?? Effect.void
          const exit = yield* withProgress(call, c, opts, (tracker) => {
            const onOutput = observeOutput([progressObserver(plan.tool.spec, tracker)])
            return guarded(
              call,
              plan,
              Effect.zipRight(
                recorder.spawning(call, plan),
                runner.run({ ...plan.request, ...(onOutput === undefined ? {} : { onOutput }) })
              )
            )
          }).pipe(
            // An interrupted fiber runs nothing after this step, so a cancellation is accounted for here, as it happens.
            Effect.onInterrupt(() =>
              recorder.finished(call, plan, cancelled(plan)).pipe(Effect.catchAll((error) => Effect.logError(error.message)))
            ),
            Effect.exit
          )
          return yield* Exit.isFailure(exit) ? unfinished(recorder, call, plan, exit.cause) : completed(call, plan, exit.value, c)
        })

      const execute = (name: string, raw: unknown, caller: Caller, opts?: ExecuteOptions) =>
        Effect.gen(function*() {
          const c = yield* config.get
          const { call, input } = engage(yield* admit(name, raw, caller, c), c)
          const plan = yield* withPlanning(planCall(call, input, c, options)).pipe(
            Effect.tapError((error) => recorder.refused(call, error))
          )
          return yield* gate.untilKilled(name, run(call, plan, c, opts))
        })

      return {
        list: registry.all.pipe(Effect.flatMap((tools) => Effect.forEach(tools, describe))),
        execute: (name, input, caller, opts) => gate.track(name, execute(name, input, caller, opts)),
        setEnabled: (name, enabled) => registry.setEnabled(name, enabled).pipe(Effect.flatMap(describe)),
        setCircuit: (name, state) =>
          registry.get(name).pipe(
            Effect.tap(() => (state === "open" ? breakers.forceOpen(name) : breakers.forceClose(name))),
            Effect.tap(() => Effect.logWarning(`circuit of ${name} forced ${state} by an operator`)),
            Effect.flatMap(describe)
          ),
        awaitApproval: (id) => Effect.flatMap(Approvals, (approvals) => approvals.awaitDecision(id)).pipe(Effect.provide(planning))
      }
    })
  )
