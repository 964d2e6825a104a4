import { Cause, type Context, Duration, Effect, Either, Exit, Layer, Option } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import type {
  AuditUnavailable,
  CircuitOpen,
  ExecutionError,
  ResourceLimitsUnavailable,
  SpawnFailed,
  ToolBusy,
  ToolUnavailable
} from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import { ToolStats } from "../observability/ToolStats.js"
import type { Resolver } from "../policy/Resolver.js"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import type { RateLimiter } from "../resilience/RateLimiter.js"
import { ProcessRunner, type RunResult } from "../runner/ProcessRunner.js"
import { Approvals } from "../storage/Approvals.js"
import { type FinishInput, type LiveProgress, ScanRecorder } from "../storage/ScanRecorder.js"
import type { SharedRateLimits } from "../storage/SharedRateLimits.js"
import { resultLimits } from "../tools/stream.js"
import { type RegisteredTool, ToolRegistry } from "../tools/ToolRegistry.js"
import type { StreamProgress } from "../tools/ToolSpec.js"
import { admissionLimited, type Call, elapsedSeconds, makeAdmission, receivedAt, toolLabelOf } from "./call.js"
import { engage, type Engaged } from "./engage.js"
import { ExecutionGate } from "./ExecutionGate.js"
import { makeGuard } from "./guard.js"
import { foundKey, foundReporter, makeRunOutput, parseStatus, progressKey, type RunOutput } from "./output.js"
import { type ExecutorOptions, plainRefusal, type Plan, planCall } from "./plan.js"
import { makeProgressTracker, observeOutput, progressObserver, type ProgressTracker } from "./progress.js"
import { cancelled, failedEnding, makeRecorder, type Recorder } from "./record.js"
import { executionResult, judge } from "./result.js"
import { beginScan, CANCELLED, finishedScan, scanUri, unfinishedScan } from "./scan.js"
import { makeSwitches } from "./switches.js"
import { type ExecuteOptions, type StartedCall, ToolExecutor, type ToolInput } from "./ToolExecutor.js"
import { toolInfo } from "./toolInfo.js"

/** What a caller learns when its call passed every check and is about to run. */
const startedCall = (call: Call, plan: Plan, scanId: string | null): StartedCall => ({
  tool: call.tool,
  correlationId: call.correlationId,
  target: plan.target.original,
  resolvedTarget: plan.target.pinned,
  argv: [plan.request.command, ...plan.request.args],
  intrusive: plan.intrusive,
  notes: plan.notes,
  scanId
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

type Unfinished = SpawnFailed | ResourceLimitsUnavailable | AuditUnavailable | CircuitOpen | ToolBusy | ToolUnavailable

/** One call after planning: its plan, its stored scan (null when storage is disabled) and its output as it arrives. */
interface Running {
  readonly call: Call
  readonly plan: Plan
  readonly scanId: string | null
  readonly output: RunOutput
}

const resourceOf = (r: Running) => (r.scanId === null ? {} : { resource: scanUri(r.scanId) })

/** What the steps of a call share. */
interface Steps {
  readonly runner: ProcessRunner["Type"]
  readonly scans: ScanRecorder["Type"]
  readonly recorder: Recorder
  readonly guarded: Effect.Effect.Success<typeof makeGuard>
}

const storeEnd = (s: Steps, r: Running, end: FinishInput) => (r.scanId === null ? Effect.void : s.scans.finish(r.scanId, end))

/** A run that ended without a process result: recorded and stored, then passed on as it is. */
const unfinished = (s: Steps, r: Running, cause: Cause.Cause<Unfinished>) =>
  Effect.gen(function*() {
    if (Cause.isInterruptedOnly(cause)) return yield* Effect.interrupt
    const failure = Cause.failureOption(cause)
    if (Option.isNone(failure)) return yield* Effect.failCause(cause)
    const ending = failedEnding(failure.value)
    yield* storeEnd(s, r, yield* unfinishedScan(r.call, r.plan, ending, r.output, undefined))
    yield* s.recorder.finished(r.call, r.plan, ending)
    return yield* Effect.fail(failure.value)
  })

/** A cancelled run (client, disconnect, shutdown): audited, and stored with what was parsed, flagged partial. */
const cancelledRun = (s: Steps, r: Running) =>
  Effect.gen(function*() {
    const ending = cancelled(r.plan)
    const raw = r.output.raw()
    const parsed = yield* r.output.finish({ partial: true, reason: CANCELLED, ...raw, ...resourceOf(r) })
    yield* storeEnd(s, r, yield* unfinishedScan(r.call, r.plan, ending, r.output, parsed))
    yield* s.recorder.finished(r.call, r.plan, ending).pipe(Effect.catchAll((error) => Effect.logError(error.message)))
  })

/**
 * A process that ran: judged, parsed and recorded as one step, so a
 * cancellation now cannot leave it unrecorded. The scan is stored with its
 * result only once the outcome is audited: a call that failed closed on the
 * audit must not leave its result readable from the store.
 */
const completed = (s: Steps, r: Running, run: RunResult, c: AppConfig) =>
  Effect.gen(function*() {
    const durationSeconds = yield* elapsedSeconds(r.call)
    const verdict = judge(r.plan.tool.spec, run)
    const partial = run.timedOut || run.signal !== null
    const parsed = yield* r.output.finish({
      partial,
      ...(partial && verdict.error !== null ? { reason: verdict.error.message } : {}),
      stdout: run.stdout,
      stderr: run.stderr,
      ...resourceOf(r)
    })
    const result = executionResult(r.call, r.plan, run, verdict, parsed, durationSeconds, c, r.scanId)
    yield* s.recorder.finished(r.call, r.plan, verdict, { result, durationSeconds }).pipe(
      Effect.tapError((error) =>
        Effect.flatMap(unfinishedScan(r.call, r.plan, failedEnding(error), undefined, undefined), (end) => storeEnd(s, r, end))
      )
    )
    yield* storeEnd(s, r, finishedScan(result, verdict, r.output, parseStatus(r.plan.tool.spec, parsed, partial)))
    return result
  }).pipe(Effect.uninterruptible)

/** Runs the planned call in its queue and breaker, every output chunk to the parser, the progress and the store's watchers. */
const runPlanned = (s: Steps, r: Running, c: AppConfig, opts: ExecuteOptions | undefined) =>
  withProgress(r.call, c, opts, (tracker) => {
    const onOutput = observeOutput([
      progressObserver(r.plan.tool.spec, tracker),
      r.output.observer,
      tracker === undefined
        ? undefined
        : foundReporter(r.output, foundKey, (p) => tracker.found({ hostsUp: p.hostsUp, openPorts: p.openPorts })),
      r.scanId === null ? undefined : foundReporter(r.output, progressKey, (p) => s.scans.progress(r.scanId!, liveProgress(p)))
    ])
    return s.guarded(
      r.call,
      r.plan,
      Effect.zipRight(
        s.recorder.spawning(r.call, r.plan),
        s.runner.run({ ...r.plan.request, ...(onOutput === undefined ? {} : { onOutput }) })
      )
    )
  })

/**
 * One call from its raw input to its result: planned, its scan begun, run,
 * and ended however it ends. What follows planning runs under `untilKilled`
 * (the end of the shutdown grace period interrupts it); a call refused while
 * planning never gets that far.
 */
const executeWith = (
  s: Steps,
  c: AppConfig,
  planned: Effect.Effect<{ readonly call: Call; readonly plan: Plan; readonly input: ToolInput }, ExecutionError>,
  untilKilled: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, E | ToolUnavailable>,
  opts?: ExecuteOptions
) =>
  Effect.flatMap(planned, ({ input, plan, ...received }) =>
    untilKilled(Effect.gen(function*() {
      const { call, scanId } = yield* beginScan(s.scans, received.call, plan, input, opts?.scanId)
      const r: Running = { call, plan, scanId, output: makeRunOutput(plan.tool.spec, resultLimits(c.results), plan.request) }
      yield* s.recorder.started(call, plan)
      yield* opts?.onStarted?.(startedCall(call, plan, scanId)) ?? Effect.void
      // An interrupted fiber runs nothing after this step, so a cancellation is accounted for here, as it happens.
      const exit = yield* runPlanned(s, r, c, opts).pipe(Effect.onInterrupt(() => cancelledRun(s, r)), Effect.exit)
      return yield* Exit.isFailure(exit) ? unfinished(s, r, exit.cause) : completed(s, r, exit.value, c)
    })))

const liveProgress = (p: StreamProgress): LiveProgress => ({
  hosts_seen: p.hostsSeen,
  hosts_up: p.hostsUp,
  open_ports: p.openPorts,
  ...(p.percent === undefined ? {} : { percent: p.percent })
})

/**
 * The executor: a call is received, planned (every check, down to the exact
 * argv), begins its stored scan, is recorded as started, runs inside its
 * tool's queue and breaker with its output parsed as it arrives, is judged
 * into an `ExecutionResult`, recorded as finished and stored, and returned.
 * Planning (plan.ts), recording (record.ts), output (output.ts) and the
 * stored scan (scan.ts) live apart, so this file is the story.
 */
/** An operator holding a tool's breaker open, or closing it. */
const forceCircuit = (
  registry: ToolRegistry["Type"],
  breakers: CircuitBreakers["Type"],
  name: string,
  state: "open" | "closed"
) =>
  registry.get(name).pipe(
    Effect.tap(() => (state === "open" ? breakers.forceOpen(name) : breakers.forceClose(name))),
    Effect.tap(() => Effect.logWarning(`circuit of ${name} forced ${state} by an operator`))
  )

export const ToolExecutorLive = (options: ExecutorOptions) =>
  Layer.scoped(
    ToolExecutor,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const registry = yield* ToolRegistry
      const breakers = yield* CircuitBreakers
      const stats = yield* ToolStats
      const gate = yield* ExecutionGate
      const recorder = yield* makeRecorder
      const steps: Steps = { runner: yield* ProcessRunner, scans: yield* ScanRecorder, recorder, guarded: yield* makeGuard }
      const switches = yield* makeSwitches
      const admit = yield* makeAdmission
      const planning = yield* Effect.context<ToolRegistry | RateLimiter | Resolver | Approvals | SharedRateLimits>()
      /**
       * Planning with its services. A server's callers run on the layers this
       * executor was built from, so their context holds these very services
       * already, and providing them again would cost a fiber-local update on
       * every call; only a caller without them gets them provided.
       */
      const withPlanning = <A, E>(effect: Effect.Effect<A, E, ToolRegistry | RateLimiter | Resolver | Approvals | SharedRateLimits>) =>
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

      /** The refusal the first, pure steps of planning decide under `c`, if they decide one. */
      const plainlyRefused = (call: Call, input: Engaged["input"], c: AppConfig) =>
        plainRefusal(call, input, registry.names.has(call.tool) ? registry.getNow(call.tool, c) : undefined, c)

      /** Fails with the plain refusal, once recorded; a refusal costs no more than it takes to say. */
      const refusedPlainly = (call: Call, input: Engaged["input"], c: AppConfig) => {
        const refusal = plainlyRefused(call, input, c)
        return refusal === undefined ? Effect.void : Effect.zipRight(recorder.refused(call, refusal), Effect.fail(refusal))
      }

      /**
       * The steps of `execute` up to the plain refusal, taken only when none
       * of them would wait or take a token: the server is not draining (the
       * gate would refuse), the stored switches are applied (`restored` would
       * wait), admission takes no token from the client's bucket, and a
       * refusal's audit line joins a batch (under `audit_fail_closed: all`
       * the refusal waits for its line to be written; a full queue would wait
       * too, and then the recorder records nothing).
       */
      const plainRefuser = (current: () => AppConfig) =>
        Effect.zipWith(Effect.clock, recorder.refusals, (clock, refused) => (name: string, raw: unknown, caller: Caller) => {
          const c = current()
          if (admissionLimited(c) || c.security.audit_fail_closed === "all" || gate.drainingNow() || !switches.settledNow()) {
            return undefined
          }
          const received = receivedAt(name, raw, caller, toolLabelOf(registry.names, name), clock.unsafeCurrentTimeNanos())
          const { call, input } = engage(received, c)
          const refusal = plainlyRefused(call, input, c)
          return refusal !== undefined && refused(call, refusal, c) ? refusal : undefined
        })

      const execute = (name: string, raw: unknown, caller: Caller, opts?: ExecuteOptions) =>
        Effect.flatMap(config.get, (c) => {
          const planned = Effect.gen(function*() {
            const engaged = engage(yield* admit(name, raw, caller, c), c)
            const { input } = engaged
            const call = opts?.standingApproval === undefined ? engaged.call : { ...engaged.call, standing: opts.standingApproval }
            yield* refusedPlainly(call, input, c)
            const plan = yield* withPlanning(planCall(call, input, c, options)).pipe(
              Effect.tapError((error) => recorder.refused(call, error))
            )
            // Planning succeeds only with a decoded input.
            return { call, plan, input: Either.getOrElse(input, () => ({ target: call.target })) }
          })
          return executeWith(steps, c, planned, (effect) => gate.untilKilled(name, effect), opts)
        })

      return {
        list: Effect.zipRight(switches.restored, registry.all.pipe(Effect.flatMap((tools) => Effect.forEach(tools, describe)))),
        execute: (name, input, caller, opts) => gate.track(name, Effect.zipRight(switches.restored, execute(name, input, caller, opts))),
        ...(config.current === undefined ? {} : { plainRefuser: plainRefuser(config.current) }),
        // After the stored switches, so restoring them cannot undo a switch set at start-up.
        setEnabled: (name, enabled, by = "operator") =>
          Effect.zipRight(switches.restored, switches.change(name, { enabled }, by, registry.setEnabled(name, enabled))).pipe(
            Effect.flatMap(describe)
          ),
        setCircuit: (name, state, by = "operator") =>
          Effect.zipRight(
            switches.restored,
            switches.change(name, { circuit: state === "open" ? "open" : null }, by, forceCircuit(registry, breakers, name, state))
          ).pipe(Effect.flatMap(describe)),
        awaitApproval: (id) => Effect.flatMap(Approvals, (approvals) => approvals.awaitDecision(id)).pipe(Effect.provide(planning))
      }
    })
  )
