import { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import { brotliCompress, brotliDecompress, constants, gunzip } from "node:zlib"
import { jsonText } from "../jsonText.js"
import { ParseStatus, ScanOutcome } from "./ScanRecord.js"
import type { ScanEnd, ScanEntry, ScanStart } from "./ScanRecord.js"

/**
 * The `scans` row: how records are written and read back. Compression runs on
 * libuv's thread pool, so a large output does not hold the event loop.
 */

/** PostgreSQL returns BIGINT as text; SQLite as a number. */
const DbNumber = Schema.Union(Schema.Number, Schema.NumberFromString)
const DbBool = Schema.transform(DbNumber, Schema.Boolean, { strict: true, decode: (n) => n !== 0, encode: (b) => (b ? 1 : 0) })
const JsonStrings = Schema.parseJson(Schema.Array(Schema.String))
const nullableString = Schema.NullOr(Schema.String)

export const ScanRow = Schema.Struct({
  id: Schema.String,
  tool: Schema.String,
  caller_id: Schema.String,
  correlation_id: Schema.String,
  target: Schema.String,
  resolved_target: Schema.String,
  argv: JsonStrings,
  args: JsonStrings,
  template: nullableString,
  intrusive: DbBool,
  notes: JsonStrings,
  started_ms: DbNumber,
  finished_ms: Schema.NullOr(DbNumber),
  stored_ms: DbNumber,
  execution_time: Schema.NullOr(DbNumber),
  outcome: ScanOutcome,
  returncode: Schema.NullOr(DbNumber),
  signal: nullableString,
  timed_out: DbBool,
  error: nullableString,
  error_type: nullableString,
  truncated_stdout: DbBool,
  truncated_stderr: DbBool,
  parse_status: ParseStatus,
  summary: Schema.String,
  stdout_bytes: DbNumber,
  stderr_bytes: DbNumber,
  stored_bytes: DbNumber,
  engagement: nullableString,
  engagement_hash: nullableString
})

/** The columns of `ScanRow`, for SELECTs that leave the compressed blobs out. */
export const ENTRY_COLUMNS = Object.keys(ScanRow.fields).join(", ")

export const decodeRow = Schema.decodeUnknown(ScanRow)

const iso = (millis: number) => new Date(millis).toISOString()

export const toEntry = (row: typeof ScanRow.Type): ScanEntry => ({
  scan_id: row.id,
  stored_at: iso(row.stored_ms),
  tool: row.tool,
  caller_id: row.caller_id,
  correlation_id: row.correlation_id,
  target: row.target,
  resolved_target: row.resolved_target,
  argv: row.argv,
  args: row.args,
  template: row.template,
  intrusive: row.intrusive,
  notes: row.notes,
  started_at: iso(row.started_ms),
  finished_at: row.finished_ms === null ? null : iso(row.finished_ms),
  execution_time: row.execution_time,
  outcome: row.outcome,
  returncode: row.returncode,
  signal: row.signal,
  timed_out: row.timed_out,
  error: row.error,
  error_type: row.error_type,
  truncated_stdout: row.truncated_stdout,
  truncated_stderr: row.truncated_stderr,
  parse_status: row.parse_status,
  summary: row.summary,
  stdout_bytes: row.stdout_bytes,
  stderr_bytes: row.stderr_bytes,
  stored_bytes: row.stored_bytes,
  engagement: row.engagement,
  engagement_hash: row.engagement_hash
})

/** Same tool, target as sent, template and caller arguments: what "the previous scan of the same target and arguments" means. */
export const fingerprint = (
  scan: Pick<ScanStart, "tool" | "target" | "template" | "args">
): string => createHash("sha256").update(JSON.stringify([scan.tool, scan.target, scan.template, scan.args])).digest("hex")

const corrupt = (cause: unknown) => new SqlError({ cause, message: "a stored output could not be decompressed" })

/** The `blob_codec` of new rows; rows written before Brotli are gzip (the column's default). */
const CODEC = "br"

/** Brotli's fastest level: nmap's output is so repetitive that it still compresses it better than gzip's default does. */
const brotliOptions = (bytes: number) => ({
  params: { [constants.BROTLI_PARAM_QUALITY]: 1, [constants.BROTLI_PARAM_SIZE_HINT]: bytes }
})

/** The text compressed with `CODEC`; `null` for empty text. */
export const compress = (text: string): Effect.Effect<Uint8Array | null> =>
  text === ""
    ? Effect.succeed(null)
    : Effect.async<Uint8Array>((resume) => {
      const data = Buffer.from(text, "utf8")
      brotliCompress(data, brotliOptions(data.length), (error, out) => resume(error === null ? Effect.succeed(out) : Effect.die(error)))
    })

/** The stored text; `codec` is the row's `blob_codec`, and one this version does not know is an error, not a guess. */
export const decompress = (data: Uint8Array | null | undefined, codec: unknown): Effect.Effect<string, SqlError> =>
  data === null || data === undefined || data.length === 0
    ? Effect.succeed("")
    : Effect.async<string, SqlError>((resume) => {
      const done = (error: Error | null, out: Buffer) =>
        resume(error === null ? Effect.succeed(out.toString("utf8")) : Effect.fail(corrupt(error)))
      if (codec === "gzip") gunzip(data, done)
      else if (codec === "br") brotliDecompress(data, done)
      else {
        resume(Effect.fail(
          new SqlError({ message: `a stored output is compressed as ${String(codec)}, which this version cannot read: upgrade the server` })
        ))
      }
    })

const bool = (b: boolean) => (b ? 1 : 0)

const textBytes = (...texts: ReadonlyArray<string>) => texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0)

/** The columns known when a scan starts; the rest take their `running` values. */
export const startColumns = (start: ScanStart, instanceId: string, now: number) => {
  const argv = JSON.stringify(start.argv)
  const args = JSON.stringify(start.args)
  const notes = JSON.stringify(start.notes)
  return {
    id: start.scan_id,
    instance_id: instanceId,
    tool: start.tool,
    caller_id: start.caller_id,
    correlation_id: start.correlation_id,
    target: start.target,
    resolved_target: start.resolved_target,
    argv,
    args,
    template: start.template,
    fingerprint: fingerprint(start),
    intrusive: bool(start.intrusive),
    notes,
    started_ms: start.started_at_ms,
    finished_ms: null as number | null,
    stored_ms: now,
    execution_time: null as number | null,
    outcome: "running" as ScanOutcome,
    returncode: null as number | null,
    signal: null as string | null,
    timed_out: 0,
    error: null as string | null,
    error_type: null as string | null,
    truncated_stdout: 0,
    truncated_stderr: 0,
    parse_status: "none" as ParseStatus,
    summary: "",
    structured_gz: null as Uint8Array | null,
    stdout_gz: null as Uint8Array | null,
    stderr_gz: null as Uint8Array | null,
    blob_codec: CODEC,
    stdout_bytes: 0,
    stderr_bytes: 0,
    stored_bytes: textBytes(argv, args, notes),
    engagement: start.engagement?.name ?? null,
    engagement_hash: start.engagement?.hash ?? null
  }
}

/** Every column of a finished scan, outputs and result compressed. */
export const finishedColumns = (start: ScanStart, end: ScanEnd, instanceId: string, now: number) =>
  Effect.gen(function*() {
    const base = startColumns({ ...start, argv: end.argv ?? start.argv, notes: end.notes ?? start.notes }, instanceId, now)
    const [structured_gz, stdout_gz, stderr_gz] = yield* Effect.all([
      compress(end.structured === null || end.structured === undefined ? "" : jsonText(end.structured)),
      compress(end.stdout),
      compress(end.stderr)
    ], { concurrency: "unbounded" })
    const blobs = [structured_gz, stdout_gz, stderr_gz].reduce((sum, b) => sum + (b?.length ?? 0), 0)
    return {
      ...base,
      finished_ms: end.finished_at_ms,
      execution_time: end.execution_time,
      outcome: end.outcome as ScanOutcome,
      returncode: end.returncode,
      signal: end.signal,
      timed_out: bool(end.timed_out),
      error: end.error,
      error_type: end.error_type,
      truncated_stdout: bool(end.truncated_stdout),
      truncated_stderr: bool(end.truncated_stderr),
      parse_status: end.parse_status,
      summary: end.summary,
      structured_gz,
      stdout_gz,
      stderr_gz,
      stdout_bytes: Buffer.byteLength(end.stdout),
      stderr_bytes: Buffer.byteLength(end.stderr),
      stored_bytes: base.stored_bytes + textBytes(end.summary) + blobs
    }
  })

/** Columns a finish overwrites when the `running` row already exists (everything but the identity of the scan). */
export const FINISH_COLUMNS = [
  "argv",
  "notes",
  "finished_ms",
  "stored_ms",
  "execution_time",
  "outcome",
  "returncode",
  "signal",
  "timed_out",
  "error",
  "error_type",
  "truncated_stdout",
  "truncated_stderr",
  "parse_status",
  "summary",
  "structured_gz",
  "stdout_gz",
  "stderr_gz",
  "blob_codec",
  "stdout_bytes",
  "stderr_bytes",
  "stored_bytes"
] as const
