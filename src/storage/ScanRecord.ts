import { Schema } from "effect"
import type { Caller } from "../identity/Caller.js"
import { jsonValue } from "../JsonValue.js"
import { ULID_PATTERN } from "./ulid.js"

/**
 * The public shapes of stored scans. A record holds everything the execute
 * response held (so `GET /scans/{id}` can return that body plus `scan_id` and
 * `stored_at`), except the raw output, which is read separately.
 */

export const ScanId = Schema.String.pipe(Schema.pattern(ULID_PATTERN)).annotations({
  description: "Sortable scan id (a ULID): newer scans have greater ids"
})

const DateTime = Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } })

/** `running` until the execution ends; `interrupted` when the server died or stopped before it could record the end. */
export const ScanOutcome = Schema.Literal("running", "succeeded", "failed", "timed_out", "cancelled", "interrupted")
export type ScanOutcome = typeof ScanOutcome.Type

/** `none`: the tool has no parser; `partial`: the result stops early (timeout, cancellation, a results bound). */
export const ParseStatus = Schema.Literal("none", "complete", "partial", "failed")
export type ParseStatus = typeof ParseStatus.Type

const nullableString = Schema.NullOr(Schema.String)
const count = Schema.Int.pipe(Schema.nonNegative())

/** A stored scan without its structured result: what lists and histories return. */
export const ScanEntry = Schema.Struct({
  scan_id: ScanId,
  stored_at: DateTime.annotations({ description: "When the record was last written" }),
  tool: Schema.String,
  caller_id: Schema.String.annotations({ description: "The API key id (or stdio) that ran it; only that key and admins may read it" }),
  correlation_id: Schema.String,
  target: Schema.String.annotations({ description: "The target as the caller sent it" }),
  resolved_target: Schema.String.annotations({ description: "The address the tool was pinned to" }),
  argv: Schema.Array(Schema.String).annotations({ description: "The exact command line that ran" }),
  args: Schema.Array(Schema.String).annotations({ description: "The caller's arguments as accepted by the policy" }),
  template: nullableString,
  intrusive: Schema.Boolean,
  notes: Schema.Array(Schema.String),
  started_at: DateTime,
  finished_at: Schema.NullOr(DateTime),
  execution_time: Schema.NullOr(Schema.Number).annotations({ description: "Seconds; null while running" }),
  outcome: ScanOutcome,
  returncode: Schema.NullOr(Schema.Int),
  signal: nullableString,
  timed_out: Schema.Boolean,
  error: nullableString,
  error_type: nullableString,
  truncated_stdout: Schema.Boolean,
  truncated_stderr: Schema.Boolean,
  parse_status: ParseStatus,
  summary: Schema.String,
  stdout_bytes: count,
  stderr_bytes: count,
  stored_bytes: count.annotations({ description: "Bytes the record takes in the store (outputs and result compressed)" }),
  engagement: nullableString,
  engagement_hash: nullableString
})
export type ScanEntry = typeof ScanEntry.Type

export const ScanRecord = Schema.Struct({
  ...ScanEntry.fields,
  structured: jsonValue("Parsed output (e.g. nmap hosts and ports) when the tool has a parser, else null")
})
export type ScanRecord = typeof ScanRecord.Type

/** The raw output as the execution produced it (the stored text, uncompressed). */
export const ScanRaw = Schema.Struct({
  scan_id: ScanId,
  stdout: Schema.String,
  stderr: Schema.String,
  truncated_stdout: Schema.Boolean,
  truncated_stderr: Schema.Boolean
})
export type ScanRaw = typeof ScanRaw.Type

export const MAX_PAGE = 200
export const DEFAULT_PAGE = 50

/** Filters of the scan list. Times are ISO 8601; `since` is inclusive, `until` exclusive, both on `started_at`. */
export const ScanQuery = Schema.Struct({
  tool: Schema.optional(Schema.String),
  target: Schema.optional(Schema.String.annotations({ description: "Matches the target as sent or the pinned address" })),
  caller: Schema.optional(Schema.String),
  q: Schema.optional(Schema.String.annotations({
    description: "Words that must each appear, in any case, in the summary, target, pinned address, tool or command line"
  })),
  outcome: Schema.optional(ScanOutcome),
  since: Schema.optional(DateTime),
  until: Schema.optional(DateTime),
  cursor: Schema.optional(ScanId.annotations({ description: "next_cursor of the previous page" })),
  limit: Schema.optional(Schema.Int.pipe(Schema.between(1, MAX_PAGE)))
})
export type ScanQuery = typeof ScanQuery.Type

/** One page, newest first; `next_cursor` is null on the last page. */
export const ScanPage = Schema.Struct({
  scans: Schema.Array(ScanEntry),
  next_cursor: Schema.NullOr(ScanId)
})
export type ScanPage = typeof ScanPage.Type

/** Who reads: a key sees only its own scans unless it is an admin. */
export interface Viewer {
  readonly callerId: string
  readonly admin: boolean
}

export const viewerOf = (caller: Caller): Viewer => ({ callerId: caller.id, admin: caller.scopes.has("admin") })

/** What is known when an execution that passed policy starts. */
export interface ScanStart {
  readonly scan_id: string
  readonly tool: string
  readonly caller_id: string
  readonly correlation_id: string
  readonly target: string
  readonly resolved_target: string
  readonly argv: ReadonlyArray<string>
  readonly args: ReadonlyArray<string>
  readonly template: string | null
  readonly intrusive: boolean
  readonly notes: ReadonlyArray<string>
  readonly started_at_ms: number
  readonly engagement?: { readonly name: string; readonly hash: string } | null
}

/** How it ended; `notes` and `argv`, when given, replace those of the start (the argv that really ran). */
export interface ScanEnd {
  readonly outcome: Exclude<ScanOutcome, "running">
  readonly finished_at_ms: number
  readonly execution_time: number
  readonly returncode: number | null
  readonly signal: string | null
  readonly timed_out: boolean
  readonly error: string | null
  readonly error_type: string | null
  readonly truncated_stdout: boolean
  readonly truncated_stderr: boolean
  readonly parse_status: ParseStatus
  readonly structured: unknown
  readonly summary: string
  readonly stdout: string
  readonly stderr: string
  readonly notes?: ReadonlyArray<string>
  readonly argv?: ReadonlyArray<string>
}

/**
 * The execute response body (the executor's `ExecutionResult`) rebuilt from
 * a stored scan and its raw output, plus `scan_id` and `stored_at`, and
 * where it stands (`outcome`, `parse_status`, `started_at`, `finished_at`):
 * what `GET /scans/{id}` and `resources/read scan://{id}` return.
 */
export const executionBody = (record: ScanRecord, raw: ScanRaw) => ({
  tool: record.tool,
  stdout: raw.stdout,
  stderr: raw.stderr,
  returncode: record.returncode,
  signal: record.signal,
  truncated_stdout: record.truncated_stdout,
  truncated_stderr: record.truncated_stderr,
  timed_out: record.timed_out,
  error: record.error,
  error_type: record.error_type,
  execution_time: record.execution_time ?? 0,
  correlation_id: record.correlation_id,
  metadata: {
    target: record.target,
    resolved_target: record.resolved_target,
    argv: record.argv,
    intrusive: record.intrusive,
    notes: record.notes
  },
  structured: record.structured,
  summary: record.summary,
  scan_id: record.scan_id,
  stored_at: record.stored_at,
  outcome: record.outcome,
  parse_status: record.parse_status,
  started_at: record.started_at,
  finished_at: record.finished_at
})
