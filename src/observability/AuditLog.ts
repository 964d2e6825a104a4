import { Clock, Context, Duration, Effect, Layer, Runtime, Schedule, Schema } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { AuditUnavailable } from "../errors.js"
import { ExecutionOutcome } from "../ExecutionOutcome.js"
import type { Caller } from "../identity/Caller.js"
import type { EngagementRef } from "../policy/Engagement.js"
import { fileSize, type StartedLine, unfinishedExecutions } from "./auditRecovery.js"
import { type AuditWriter, makeAuditWriter } from "./AuditWriter.js"
import type { CheckResult, HealthCheck } from "./Health.js"
import { AuditMessage, logAudit, logAuditBatch } from "./Logger.js"
import { makeRejectionTallies, type OverLimit, type Tally } from "./rejections.js"

/**
 * One execution attempt, allowed or not. There is deliberately no field for
 * credentials or request headers: the caller is identified by its key id.
 */
export interface AuditEntry {
  readonly caller: Pick<Caller, "id" | "transport" | "address">
  readonly tool: string
  readonly target: string
  /** The address actually scanned, when the target was resolved. */
  readonly resolvedTarget: string | null
  /** The command line exactly as executed (binary first); empty when rejected before building it. */
  readonly argv: ReadonlyArray<string>
  readonly decision: ExecutionLine["decision"]
  readonly outcome: AuditOutcome
  readonly durationSeconds: number
  readonly intrusive: boolean
  readonly correlationId: string
  readonly error: { readonly tag: string; readonly message: string } | null
  /** Pairs an execution's `started` line with its outcome line (callers may reuse correlation ids). */
  readonly executionId?: string
  /** The engagement the call acts in, with its content hash. */
  readonly engagement?: EngagementRef | null
  /** The approval the line is about or runs under, with both identities. */
  readonly approval?: AuditApproval | null
}

export interface AuditApproval {
  readonly id: string
  readonly requestedBy: string
  /** The approver (or denier); null while pending. */
  readonly decidedBy: string | null
}

/** What is known of an execution just before its process is spawned. */
export type StartedEntry = Omit<AuditEntry, "decision" | "outcome" | "durationSeconds" | "error" | "executionId"> & {
  readonly executionId: string
}

/** A `started` line found at start-up with no outcome: the previous server died while it ran. */
export type InterruptedExecution = StartedLine

/**
 * What the log's rewrites look for: the schemes whose credentials are
 * redacted, and the separators JSON leaves raw that would break a line.
 * The checks that skip a rewrite (`rewritable`, `unplain`) are built from
 * the same two, so neither can miss what a rewrite would change.
 */
const SCHEMES = "Bearer|Basic"
const SEPARATORS = "\\u0085\\u2028\\u2029"

const credential = new RegExp(`\\b(${SCHEMES})\\s+[A-Za-z0-9._~+/=-]+`, "gi")

/** Defence in depth: a token pasted into a target, argument or error message must not land in the log. */
export const redact = (text: string): string => text.replace(credential, "$1 [REDACTED]")

const nullable = (description: string) => Schema.NullOr(Schema.String).annotations({ description })

/**
 * An execution's outcome, or `started` (written before the spawn) and
 * `interrupted` (written at start-up for a `started` line with no outcome);
 * an approval's line says `pending`, `approved` or `denied`.
 */
export const AuditOutcome = Schema.Union(
  ExecutionOutcome,
  Schema.Literal("started", "interrupted", "pending", "approved", "denied", "revoked", "enabled", "disabled")
)
export type AuditOutcome = typeof AuditOutcome.Type

/** One execution attempt, allowed or not: the audit log's usual line. */
export type ExecutionLine = typeof ExecutionLine.Type
export const ExecutionLine = Schema.Struct({
  kind: Schema.Literal("execution"),
  timestamp: Schema.String.annotations({ description: "When the attempt was recorded (ISO 8601)" }),
  caller_id: Schema.String.annotations({ description: "The caller's key id (never the key)" }),
  caller_transport: Schema.String,
  caller_address: nullable("The client's address, over HTTP"),
  tool: Schema.String,
  target: Schema.String.annotations({ description: "The target as the caller wrote it" }),
  resolved_target: nullable("The address actually scanned, when the target was resolved"),
  argv: Schema.Array(Schema.String).annotations({ description: "The command line exactly as executed; empty when none ran" }),
  decision: Schema.Union(
    Schema.Literal("allowed", "approval:requested", "approval:approved", "approval:denied", "approval:revoked"),
    Schema.Literal("schedule:enabled", "schedule:disabled"),
    Schema.TemplateLiteral("rejected:", Schema.String)
  ).annotations({ description: "allowed, rejected:<error tag>, an approval's request or decision, or a schedule switched on or off" }),
  outcome: AuditOutcome,
  duration_seconds: Schema.Number,
  intrusive: Schema.Boolean,
  correlation_id: Schema.String,
  execution_id: nullable("Pairs an execution's started line with its outcome line"),
  error_tag: nullable("The error's _tag"),
  error_message: Schema.NullOr(Schema.String),
  engagement: nullable("The engagement the call acts in"),
  engagement_hash: nullable("SHA-256 of the engagement's content at the time"),
  approval_id: nullable("The approval the line is about, or that the run was approved under"),
  requested_by: nullable("The key that requested the approval"),
  decided_by: nullable("The key that approved or denied it")
})

const Counts = Schema.Record({ key: Schema.String, value: Schema.Int })

/**
 * The calls one client made past its rate limit in one interval, counted
 * rather than written one by one (`security.audit_rejections_interval`):
 * `by_tool` and `by_reason` each add up to `count`.
 */
export const RejectionsLine = Schema.Struct({
  kind: Schema.Literal("rejections"),
  timestamp: Schema.String.annotations({ description: "When the line was written (ISO 8601)" }),
  caller_id: Schema.String,
  caller_transport: Schema.String,
  caller_address: nullable("The client's address, over HTTP"),
  decision: Schema.Literal("rejected"),
  count: Schema.Int.annotations({
    description:
      "Calls refused in this interval before they were heard out: past the client's rate limit (RateLimited), or over HTTP without a valid key (Unauthorized, caller_id \"(no valid key)\") or the route's scope (Forbidden)"
  }),
  by_tool: Counts.annotations({ description: "The counts by tool: registered names, or unknown" }),
  by_reason: Counts.annotations({ description: "The counts by error tag" }),
  first_at: Schema.String.annotations({ description: "When the first of them arrived (ISO 8601)" }),
  last_at: Schema.String.annotations({ description: "When the last of them arrived (ISO 8601)" })
})

/** One line of the audit log (JSON Lines), as operators and log shippers read it; `kind` tells which. */
export const AuditLine = Schema.Union(ExecutionLine, RejectionsLine)
export type AuditLine = typeof AuditLine.Type

/**
 * `ExecutionLine` as JSON: every field is a string, number, boolean, null or
 * array of strings, so encoding it is the identity and the text is
 * `JSON.stringify` of the line built field by field in the schema's order
 * (test/observability/AuditLog.test.ts checks both agree), without walking
 * the schema for every line.
 */
const lineJson = (line: ExecutionLine): string => JSON.stringify(line)
const rejectionsJson = Schema.encodeSync(Schema.parseJson(RejectionsLine))

/**
 * JSON leaves U+2028, U+2029 and NEL raw inside strings, and many log
 * shippers split lines on them: written as escapes, a caller's text cannot
 * cut its line in two. (They can only occur inside strings, so the JSON
 * means the same.)
 */
const separator = new RegExp(`[${SEPARATORS}]`, "g")

const oneLine = (json: string): string => json.replace(separator, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** The rejections line of a client's tally, newline included. */
export const rejectionsLine = (tally: Tally, timestamp: string): string =>
  oneLine(redact(rejectionsJson({
    kind: "rejections",
    timestamp,
    caller_id: tally.caller.id,
    caller_transport: tally.caller.transport,
    caller_address: tally.caller.address ?? null,
    decision: "rejected",
    count: tally.count,
    by_tool: tally.byTool,
    by_reason: tally.byReason,
    first_at: new Date(tally.first).toISOString(),
    last_at: new Date(tally.last).toISOString()
  }))) + "\n"

/** An entry as its audit line's fields, in the schema's order. */
const executionLine = (entry: AuditEntry, timestamp: string): ExecutionLine => ({
  kind: "execution",
  timestamp,
  caller_id: entry.caller.id,
  caller_transport: entry.caller.transport,
  caller_address: entry.caller.address ?? null,
  tool: entry.tool,
  target: entry.target,
  resolved_target: entry.resolvedTarget,
  argv: entry.argv,
  decision: entry.decision,
  outcome: entry.outcome,
  duration_seconds: entry.durationSeconds,
  intrusive: entry.intrusive,
  correlation_id: entry.correlationId,
  execution_id: entry.executionId ?? null,
  error_tag: entry.error?.tag ?? null,
  error_message: entry.error?.message ?? null,
  engagement: entry.engagement?.name ?? null,
  engagement_hash: entry.engagement?.hash ?? null,
  approval_id: entry.approval?.id ?? null,
  requested_by: entry.approval?.requestedBy ?? null,
  decided_by: entry.approval?.decidedBy ?? null
})

/** The JSON line for an entry, newline included. */
export const auditLine = (entry: AuditEntry, timestamp: string): string => auditText(executionLine(entry, timestamp)).text

/**
 * A line's text, newline included, and the line itself when `JSON.parse` of
 * the text gives back exactly its fields (nothing redacted, no value JSON
 * would drop or change): the application log then reads the fields it is
 * handed instead of parsing the text again.
 */
const auditText = (line: ExecutionLine): { readonly text: string; readonly fields: ExecutionLine | undefined } => {
  const json = lineJson(line)
  // One scan finds what either rewrite needs (a credential needs its scheme and a space; a separator itself); most lines have neither.
  if (!rewritable.test(json)) return { text: json + "\n", fields: roundTrips(line) ? line : undefined }
  const redacted = redact(json)
  return { text: oneLine(redacted) + "\n", fields: redacted === json && roundTrips(line) ? line : undefined }
}

const rewritable = new RegExp(`\\b(?:${SCHEMES})\\s|[${SEPARATORS}]`, "i")

const roundTrips = (line: ExecutionLine): boolean => {
  for (const key in line) {
    const value = line[key as keyof ExecutionLine]
    if (value === undefined || (typeof value === "number" && !Number.isFinite(value))) return false
  }
  return true
}

/** The outcome line recorded for an execution whose server died while it ran. */
export const interruptedEntry = (started: StartedLine): AuditEntry => ({
  caller: { id: started.caller_id, transport: started.caller_transport, address: started.caller_address ?? undefined },
  tool: started.tool,
  target: started.target,
  resolvedTarget: started.resolved_target,
  argv: started.argv,
  decision: "allowed",
  outcome: "interrupted",
  durationSeconds: 0,
  intrusive: started.intrusive,
  correlationId: started.correlation_id,
  executionId: started.execution_id,
  engagement: started.engagement != null && started.engagement_hash != null
    ? { name: started.engagement, hash: started.engagement_hash }
    : null,
  approval: started.approval_id != null && started.requested_by != null
    ? { id: started.approval_id, requestedBy: started.requested_by, decidedBy: started.decided_by ?? null }
    : null,
  error: {
    tag: "Interrupted",
    message:
      `no outcome was recorded: the server stopped (killed, crashed or out of memory) while this execution ran; it started at ${started.timestamp}`
  }
})

export interface AuditLogService {
  /**
   * The original shape: never fails. An entry that must be written (see
   * `write`) but cannot be dies with `AuditUnavailable`, so the operation
   * fails closed even for callers that handle no audit error.
   */
  readonly record: (entry: AuditEntry) => Effect.Effect<void>
  /**
   * Appends the entry. Intrusive entries are fsync'ed before this returns and
   * fail with `AuditUnavailable` when they cannot be written; so do all
   * entries under `security.audit_fail_closed: all`. Any other entry that
   * cannot be written goes to the application log instead. Every failure is
   * logged and counted (`mcp_audit_failures_total`).
   */
  readonly write: (entry: AuditEntry) => Effect.Effect<void, AuditUnavailable>
  /**
   * `write` of a refused call's entry under `config` as a plain function,
   * bound to the clock and runtime of the fiber that makes it, for a path
   * that runs no fiber per call: true once its line is queued as `write`
   * queues a refusal's (it joins a batch). False, having done nothing, when
   * `write` would wait: the line must be written first (it is intrusive, or
   * `security.audit_fail_closed: all`), or the writer's queue is full or
   * closed; then only `write` will do.
   */
  readonly refusals: Effect.Effect<(entry: AuditEntry, config: AppConfig) => boolean>
  /** Writes the `started` line of an execution, before its process is spawned; fails like `write`. */
  readonly started: (entry: StartedEntry) => Effect.Effect<void, AuditUnavailable>
  /**
   * Counts a call refused before it is heard out (past its client's rate
   * limit, without a valid key or scope), at the cost of a counter: each
   * client's counts are written as one `rejections` line per
   * `security.audit_rejections_interval`, and when the log closes.
   */
  readonly overLimit: (rejection: OverLimit) => Effect.Effect<void>
  /**
   * Finds the `started` lines of the log as it was at start-up that have no
   * outcome, records each as `interrupted` and logs it. Runs once per
   * process (the layer starts it); later calls return the same result.
   */
  readonly recoverInterrupted: Effect.Effect<ReadonlyArray<InterruptedExecution>>
  /** Degraded while the last write failed. */
  readonly health: Effect.Effect<CheckResult>
  /** Reopens the file before the next line, as SIGHUP does. */
  readonly reopen: Effect.Effect<void>
  /** Waits until every line written so far is in the file: refusals' lines join a batch without their callers waiting. */
  readonly flush: Effect.Effect<void>
}

/** How long a batch of refusals' lines, whose callers do not wait for them, waits for more: file and application log alike. */
const BATCH_MS = 5

/** A refusal's answer does not depend on its line: unless the call fails closed, it joins the next batch. */
const batched = (entry: AuditEntry, c: AppConfig) =>
  entry.outcome === "rejected" && !entry.intrusive && c.security.audit_fail_closed !== "all"

const messageOf = ({ fields, text }: ReturnType<typeof auditText>) => new AuditMessage(text.trimEnd(), fields)

/**
 * What may make a line's JSON need a rewrite (`redact`, `oneLine`) or come
 * out of `JSON.stringify` other than as written: a scheme name, a separator,
 * or a character JSON escapes (controls, lone surrogates), whose escapes
 * could spell one. A line none of whose strings holds one is its own JSON.
 */
const unplain = new RegExp(`${SCHEMES}|[\\u0000-\\u001f${SEPARATORS}\\ud800-\\udfff]`, "i")

/**
 * Whether every field is plain: null, a boolean, a finite number, or text
 * (a string, a list of strings) in which `unplain` finds nothing. The texts
 * are tested as one, joined by spaces: a space is plain and cuts every word
 * `unplain` looks for, so the joined text matches exactly when one of them does.
 */
const plainLine = (line: ExecutionLine): boolean => {
  const texts: Array<string> = []
  for (const key in line) {
    const value: unknown = line[key as keyof ExecutionLine]
    if (typeof value === "string") texts.push(value)
    else if (Array.isArray(value)) {
      for (const item of value) {
        if (typeof item !== "string") return false
        texts.push(item)
      }
    } else if (!(value === null || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value)))) {
      return false
    }
  }
  return !unplain.test(texts.join(" "))
}

/**
 * A plain line's message for the application log: its fields, and its text
 * made when a logger first reads it (the configured loggers read the fields,
 * so a flood of refusals costs no JSON). The text is `auditText`'s, since
 * neither rewrite changes a plain line; anything else is made as `messageOf` makes it.
 */
const logMessage = (line: ExecutionLine): AuditMessage =>
  plainLine(line) ? new AuditMessage(() => lineJson(line), line) : messageOf(auditText(line))

/** Writes a line to the file or, without one, to the application log; a line that fails closed fails when it cannot be written. */
const lineWriter = (writer: AuditWriter, logged: Effect.Effect.Success<typeof logBatches>) =>
(
  entry: AuditEntry,
  text: ReturnType<typeof auditText>,
  c: AppConfig
): Effect.Effect<void, AuditUnavailable> => {
  const failClosed = entry.intrusive || c.security.audit_fail_closed === "all"
  const line = text.text
  if (c.security.audit_log_path === "") {
    // Without a file the log is the audit: a refusal's line joins the next batch of log lines like a file's.
    return batched(entry, c) ? logged.enqueue(messageOf(text)) : logAudit(messageOf(text))
  }
  // A batched line goes to the log if its batch cannot be written.
  if (batched(entry, c)) return writer.enqueue(line)
  return writer.append(line, entry.intrusive).pipe(
    Effect.catchAll((error) => Effect.zipRight(logAudit(line), failClosed ? Effect.fail(error) : Effect.void))
  )
}

export class AuditLog extends Context.Tag("security-mcp/AuditLog")<AuditLog, AuditLogService>() {
  /**
   * Appends to `security.audit_log_path`, read before every batch so a reload
   * moves the log; the writing itself is `AuditWriter`'s (one writer, group
   * commit, rotation, disk-full safety). An empty path sends every line to
   * the application log instead, so an attempt is never silently unaudited.
   */
  static readonly layer = Layer.scoped(
    AuditLog,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const path = Effect.map(config.get, (c) => c.security.audit_log_path)
      const logOnly = logAudit
      // Refusals' lines linger as the application log's do: a client's calls one after another share a write.
      const writer = yield* makeAuditWriter({ path, unwritten: logOnly, linger: BATCH_MS })
      const logged = yield* logBatches

      const writeLine = lineWriter(writer, logged)
      const timestamp = isoTimestamps()
      const textAt = (entry: AuditEntry, now: number) => auditText(executionLine(entry, timestamp(now)))
      // Plain steps, no generator: every refused call of a flood writes one line.
      const write = (entry: AuditEntry) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const line = textAt(entry, now)
          return Effect.flatMap(config.get, (c) => writeLine(entry, line, c))
        })
      const refusals = Effect.zipWith(Effect.clock, Effect.runtime<never>(), (clock, runtime) => (entry: AuditEntry, c: AppConfig) => {
        if (!batched(entry, c)) return false
        const now = clock.unsafeCurrentTimeMillis()
        if (c.security.audit_log_path !== "") return writer.enqueueNow(textAt(entry, now).text)
        logged.enqueueNow(logMessage(executionLine(entry, timestamp(now))), runtime)
        return true
      })

      const tallies = makeRejectionTallies()
      const flushRejections = Effect.gen(function*() {
        const taken = tallies.take()
        if (taken.length === 0) return
        const timestamp = new Date(yield* Clock.currentTimeMillis).toISOString()
        const text = taken.map((tally) => rejectionsLine(tally, timestamp)).join("")
        const c = yield* config.get
        if (c.security.audit_log_path === "") return yield* logOnly(text)
        yield* writer.append(text, false).pipe(Effect.catchAll(() => logOnly(text)))
      })
      const interval = Effect.map(config.get, (c) => Duration.seconds(c.security.audit_rejections_interval))
      yield* Effect.addFinalizer(() => flushRejections)
      yield* flushRejections.pipe(
        Effect.zipLeft(Effect.flatMap(interval, Effect.sleep)),
        Effect.repeat(Schedule.forever),
        Effect.forkScoped
      )

      const initialPath = yield* path
      const sizeAtStart = initialPath === "" ? 0 : yield* Effect.promise(() => fileSize(initialPath))
      const recover = Effect.gen(function*() {
        const found = yield* Effect.promise(() => unfinishedExecutions(initialPath, sizeAtStart))
        for (const started of found) {
          yield* Effect.logWarning(
            `audit: execution ${started.execution_id} of ${started.tool} against ${started.target}, started at ${started.timestamp}, has no outcome; recorded as interrupted`
          ).pipe(Effect.annotateLogs({ argv: started.argv.join(" "), caller: started.caller_id }))
          yield* write(interruptedEntry(started)).pipe(Effect.catchAll((error) => Effect.logError(error.message)))
        }
        return found
      })
      const recoverInterrupted = yield* Effect.cached(recover)
      yield* Effect.forkScoped(recoverInterrupted)

      return {
        record: (entry) => write(entry).pipe(Effect.orDie),
        write,
        refusals,
        started: (entry) => write({ ...entry, decision: "allowed", outcome: "started", durationSeconds: 0, error: null }),
        overLimit: (rejection) => Effect.map(Clock.currentTimeMillis, (now) => tallies.add(rejection, now)),
        recoverInterrupted,
        health: Effect.map(writer.status, (s): CheckResult =>
          s.lastError === null
            ? { status: "healthy", message: `${s.linesWritten} lines written`, metadata: { ...s } }
            : { status: "degraded", message: s.lastError, metadata: { ...s } }),
        reopen: writer.reopen,
        flush: Effect.zipRight(writer.flush, logged.flush)
      }
    })
  )
}

/**
 * `new Date(ms).toISOString()`, remembering the last one: the lines of a
 * flood share their millisecond more often than not.
 */
const isoTimestamps = () => {
  let last = Number.NaN
  let text = ""
  return (ms: number): string => {
    if (ms !== last) {
      text = new Date(ms).toISOString()
      last = ms
    }
    return text
  }
}

const BATCH_LINES = 1024

/**
 * Refusals' lines bound for the application log, logged whatever is pending
 * at once as one entry (`logAuditBatch`: one write for all of them) at most
 * `BATCH_MS` after the first, or as soon as `BATCH_LINES` are pending. The
 * batch is logged with the loggers of the call that started it (a fiber of
 * the layer's own would have the loggers of start-up); `flush` and the log's
 * closing log what is pending at once.
 */
const logBatches = Effect.gen(function*() {
  let pending: Array<AuditMessage> = []
  let timer: ReturnType<typeof setTimeout> | undefined
  const take = () => {
    clearTimeout(timer)
    timer = undefined
    const lines = pending
    pending = []
    return lines
  }
  const logPending = Effect.suspend(() => logAuditBatch(take()))
  yield* Effect.addFinalizer(() => logPending)
  /** Adds the line; true when the batch is full and must be logged now. */
  const push = (line: AuditMessage) => pending.push(line) >= BATCH_LINES
  const arm = (runtime: Runtime.Runtime<never>) => {
    if (timer === undefined) timer = setTimeout(() => Runtime.runSync(runtime, logPending), BATCH_MS).unref()
  }
  const enqueue = (line: AuditMessage): Effect.Effect<void> =>
    Effect.suspend(() => push(line) ? logPending : timer !== undefined ? Effect.void : Effect.map(Effect.runtime<never>(), arm))
  /** `enqueue` without an effect, by a caller whose runtime is `runtime`. */
  const enqueueNow = (line: AuditMessage, runtime: Runtime.Runtime<never>): void =>
    push(line) ? Runtime.runSync(runtime, logPending) : arm(runtime)
  return { enqueue, enqueueNow, flush: logPending }
})

/** The audit log's health check: IMPORTANT, so a log that cannot be written makes the server degraded. */
export const auditHealthCheck: Effect.Effect<HealthCheck, never, AuditLog> = Effect.map(AuditLog, (audit) => ({
  name: "audit_log",
  priority: "IMPORTANT",
  run: audit.health
}))
