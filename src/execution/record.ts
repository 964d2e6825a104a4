import { Effect } from "effect"
import type { AppConfig } from "../config/schema.js"
import type { AuditUnavailable, ExecutionError } from "../errors.js"
import { Events, type ServerEvent } from "../events/Events.js"
import type { ExecutionOutcome } from "../ExecutionOutcome.js"
import { type AuditEntry, AuditLog } from "../observability/AuditLog.js"
import { labelled } from "../observability/labelled.js"
import { policyRejections, toolErrors, toolExecutions, toolExecutionSeconds } from "../observability/metrics.js"
import { ToolStats } from "../observability/ToolStats.js"
import { type Call, elapsedSeconds, secondsSince } from "./call.js"
import type { Plan } from "./plan.js"
import type { ExecutionResult } from "./ToolExecutor.js"

/**
 * Recording: every call ends as exactly one `CallRecord`, which each sink
 * (metrics, statistics, audit log, events) turns into its own form. A new
 * place that must learn about outcomes is one more sink.
 */

/** How a planned call ended: what it ran (if anything), and why it did not succeed. */
export interface Ending {
  readonly outcome: ExecutionOutcome
  /** The error's tag or the result's error_type; null on success. */
  readonly errorType: string | null
  readonly error: { readonly tag: string; readonly message: string } | null
  /** The command line that ran; empty when nothing ran. */
  readonly argv: ReadonlyArray<string>
}

export type CallRecord =
  /** Refused while planning: nothing waited or ran. */
  | { readonly _tag: "Refused"; readonly call: Call; readonly error: ExecutionError; readonly durationSeconds: number }
  /** Planned, then run (`result` is what the caller gets), or turned away by its breaker or queue, or cancelled (`result` null). */
  | {
    readonly _tag: "Finished"
    readonly call: Call
    readonly plan: Plan
    readonly ending: Ending
    readonly durationSeconds: number
    readonly result: ExecutionResult | null
  }

export interface Sink {
  /** A planned call is about to wait for its slot and run. */
  readonly started: (call: Call, plan: Plan) => Effect.Effect<void>
  /** Fails when the outcome must be audited (intrusive, or `audit_fail_closed: all`) and cannot be. */
  readonly finished: (record: CallRecord) => Effect.Effect<void, AuditUnavailable>
  /** Whether a `Refused` record means anything to the sink (a refused call is the commonest record in a flood). */
  readonly refusals: boolean
}

/** The command line a plan runs, binary first (what a cancelled run had started). */
export const planArgv = (plan: Plan): ReadonlyArray<string> => [plan.request.command, ...plan.request.args]

export const cancelled = (plan: Plan): Ending => ({ outcome: "cancelled", errorType: "cancelled", error: null, argv: planArgv(plan) })

/**
 * A failure instead of a process result: the breaker, a full queue or a
 * draining server (ToolUnavailable) turned the call away, so the tool did
 * not fail; or the spawn failed.
 */
export const failedEnding = (error: ExecutionError): Ending => ({
  outcome: error._tag === "CircuitOpen" || error._tag === "ToolBusy" || error._tag === "ToolUnavailable" ? "rejected" : "failure",
  errorType: error._tag,
  error: { tag: error._tag, message: error.message },
  argv: []
})

const logSink: Sink = {
  started: (call, plan) =>
    plan.intrusive
      ? Effect.logWarning(`intrusive execution of ${call.tool}`).pipe(
        Effect.annotateLogs({ caller: call.caller.id, target: call.target, reasons: plan.intrusiveReasons.join("; ") })
      )
      : Effect.void,
  finished: () => Effect.void,
  refusals: false
}

// Labels in this order (the order is part of a series' identity).
const rejections = labelled(policyRejections, ["tool", "rule"])
const executions = labelled(toolExecutions, ["tool", "status", "error_type"])
const executionSeconds = labelled(toolExecutionSeconds, ["tool"])
const errors = labelled(toolErrors, ["tool", "error_type"])

/** A refusal's series: a made-up name must not become a label, every one would be a new series forever (see Call.toolLabel). */
const rejectionLabels = (call: Call, error: ExecutionError) => [call.toolLabel, "rule" in error ? String(error.rule) : error._tag]

const metricsSink: Sink = {
  started: () => Effect.void,
  refusals: true,
  finished: (record) => {
    const { call } = record
    if (record._tag === "Refused") return rejections.update(rejectionLabels(call, record.error), 1)
    const { outcome, errorType } = record.ending
    return Effect.all([
      executions.update([call.tool, outcome, errorType ?? "none"], 1),
      executionSeconds.update([call.tool], record.durationSeconds),
      errorType === null ? Effect.void : errors.update([call.tool, errorType], 1)
    ], { discard: true })
  }
}

const statsSink = (stats: ToolStats["Type"]): Sink => ({
  started: () => Effect.void,
  refusals: false,
  finished: (record) =>
    record._tag === "Finished" && record.ending.outcome !== "rejected"
      ? stats.record(record.call.tool, {
        durationSeconds: record.durationSeconds,
        outcome: record.ending.outcome,
        errorType: record.ending.errorType
      })
      : Effect.void
})

const auditBase = (call: Call) => ({
  correlationId: call.correlationId,
  executionId: call.executionId,
  caller: call.caller,
  tool: call.tool.slice(0, 64),
  target: call.target,
  engagement: call.engagement ?? null
})

/**
 * The audit log's `started` line, written when a slot was granted and the
 * process is about to be spawned (not before the queue, so a call turned away
 * by its breaker or queue never reads as started); it fails when the call may
 * not run unaudited.
 */
const auditSpawning = (audit: AuditLog["Type"]) => (call: Call, plan: Plan) =>
  audit.started({
    ...auditBase(call),
    target: plan.auditTarget,
    resolvedTarget: plan.target.pinned,
    argv: planArgv(plan),
    intrusive: plan.intrusive,
    approval: plan.approval
  })

/** A refused call's audit entry; field by field rather than spread from `auditBase`: a flood's every refused call writes one. */
const refusalEntry = (call: Call, error: ExecutionError, durationSeconds: number): AuditEntry => ({
  correlationId: call.correlationId,
  executionId: call.executionId,
  caller: call.caller,
  tool: call.tool.slice(0, 64),
  target: call.target,
  engagement: call.engagement ?? null,
  resolvedTarget: null,
  argv: [],
  decision: `rejected:${error._tag}`,
  outcome: "rejected",
  durationSeconds,
  intrusive: false,
  error: { tag: error._tag, message: error.message }
})

const auditSink = (audit: AuditLog["Type"]): Sink => ({
  started: () => Effect.void,
  refusals: true,
  finished: (record) => {
    const { call } = record
    const { durationSeconds } = record
    if (record._tag === "Refused") return audit.write(refusalEntry(call, record.error, durationSeconds))
    const { ending, plan } = record
    return audit.write({
      ...auditBase(call),
      target: plan.auditTarget,
      resolvedTarget: plan.target.pinned,
      argv: ending.argv,
      decision: "allowed",
      outcome: ending.outcome,
      durationSeconds,
      intrusive: plan.intrusive,
      error: ending.error,
      approval: plan.approval
    })
  }
})

const eventSink = (events: Events["Type"]): Sink => ({
  refusals: true,
  started: (call) =>
    events.publish({
      type: "execution.started",
      tool: call.tool,
      correlationId: call.correlationId,
      caller: call.caller.id,
      target: call.target
    }),
  finished: (record) => events.publish(finishedEvent(record))
})

const finishedEvent = (record: CallRecord): ServerEvent => {
  const { call, durationSeconds } = record
  const [outcome, errorType] = record._tag === "Refused"
    ? ["rejected" as const, record.error._tag]
    : [record.ending.outcome, record.ending.errorType]
  return {
    type: "execution.finished",
    tool: call.tool,
    correlationId: call.correlationId,
    caller: call.caller.id,
    outcome,
    errorType,
    durationSeconds
  }
}

/**
 * `Recorder.refused` as a plain function, bound to the clock and runtime of
 * the fiber that makes it, for a path that runs no fiber per call: the same
 * metric, audit entry and event, made by the same functions. It records the
 * audit line first, since only the audit can turn it away (`AuditLog.refusals`):
 * then it records nothing and returns false, and `refused` must be asked. All
 * three are recorded in one synchronous step, so nothing can tell their order
 * apart from `refused`'s.
 */
const makeRefusals = (audit: AuditLog["Type"], events: Events["Type"]) =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    const write = yield* audit.refusals
    const publish = yield* events.publisher
    return (call: Call, error: ExecutionError, config: AppConfig): boolean => {
      const durationSeconds = secondsSince(call, clock.unsafeCurrentTimeNanos())
      if (!write(refusalEntry(call, error, durationSeconds), config)) return false
      rejections.updateNow(rejectionLabels(call, error), 1)
      publish(finishedEvent({ _tag: "Refused", call, error, durationSeconds }))
      return true
    }
  })

export interface Recorder {
  readonly started: (call: Call, plan: Plan) => Effect.Effect<void>
  /** The process is about to be spawned: its audit `started` line, which must be written first. */
  readonly spawning: (call: Call, plan: Plan) => Effect.Effect<void, AuditUnavailable>
  /** Records a call refused while planning. */
  readonly refused: (call: Call, error: ExecutionError) => Effect.Effect<void, AuditUnavailable>
  /** `refused` as a plain function, under the configuration `config`: see `makeRefusals`. */
  readonly refusals: Effect.Effect<(call: Call, error: ExecutionError, config: AppConfig) => boolean>
  /** Records how a planned call ended: with the result and the duration it reports when a process ran, timed now otherwise. */
  readonly finished: (
    call: Call,
    plan: Plan,
    ending: Ending,
    ran?: { readonly result: ExecutionResult; readonly durationSeconds: number }
  ) => Effect.Effect<void, AuditUnavailable>
}

/** The sinks in the order they are told: the log line, metrics, statistics, the audit line, the event. */
export const makeRecorder: Effect.Effect<Recorder, never, ToolStats | AuditLog | Events> = Effect.gen(function*() {
  const audit = yield* AuditLog
  const events = yield* Events
  const sinks = [logSink, metricsSink, statsSink(yield* ToolStats), auditSink(audit), eventSink(events)]
  const refusing = sinks.filter((sink) => sink.refusals)
  // The sinks one after the other, as plain steps rather than a loop: a flood's every refused call is recorded here.
  const finished = (record: CallRecord) =>
    (record._tag === "Refused" ? refusing : sinks).reduceRight<Effect.Effect<void, AuditUnavailable>>(
      (next, sink) => next === Effect.void ? sink.finished(record) : Effect.zipRight(sink.finished(record), next),
      Effect.void
    )
  return {
    started: (call, plan) => Effect.forEach(sinks, (sink) => sink.started(call, plan), { discard: true }),
    spawning: auditSpawning(audit),
    refusals: makeRefusals(audit, events),
    refused: (call, error) =>
      Effect.flatMap(elapsedSeconds(call), (durationSeconds) => finished({ _tag: "Refused", call, error, durationSeconds })),
    finished: (call, plan, ending, ran) =>
      Effect.flatMap(
        ran === undefined ? elapsedSeconds(call) : Effect.succeed(ran.durationSeconds),
        (durationSeconds) => finished({ _tag: "Finished", call, plan, ending, durationSeconds, result: ran?.result ?? null })
      )
  }
})
