import type { ScanEnd, ScanRaw, ScanRecord, ScanStart, Viewer } from "./ScanRecord.js"

/**
 * A scan whose latest write is still waiting in the recorder's queue, read
 * from memory: a client that reads the scan named in its execute response
 * right away gets what the response said, not the row as it was before the
 * write (or no row at all). Its `stored_bytes` is 0 until it is written.
 */
export interface Pending {
  readonly start: ScanStart
  readonly end?: ScanEnd
}

const iso = (millis: number) => new Date(millis).toISOString()

export const pendingVisible = (pending: Pending, viewer: Viewer): boolean => viewer.admin || pending.start.caller_id === viewer.callerId

export const pendingRecord = ({ start, end }: Pending, storedAtMs: number): ScanRecord => ({
  scan_id: start.scan_id,
  stored_at: iso(storedAtMs),
  tool: start.tool,
  caller_id: start.caller_id,
  correlation_id: start.correlation_id,
  target: start.target,
  resolved_target: start.resolved_target,
  argv: end?.argv ?? start.argv,
  args: start.args,
  template: start.template,
  intrusive: start.intrusive,
  notes: end?.notes ?? start.notes,
  started_at: iso(start.started_at_ms),
  finished_at: end === undefined ? null : iso(end.finished_at_ms),
  execution_time: end?.execution_time ?? null,
  outcome: end?.outcome ?? "running",
  returncode: end?.returncode ?? null,
  signal: end?.signal ?? null,
  timed_out: end?.timed_out ?? false,
  error: end?.error ?? null,
  error_type: end?.error_type ?? null,
  truncated_stdout: end?.truncated_stdout ?? false,
  truncated_stderr: end?.truncated_stderr ?? false,
  parse_status: end?.parse_status ?? "none",
  summary: end?.summary ?? "",
  stdout_bytes: Buffer.byteLength(end?.stdout ?? ""),
  stderr_bytes: Buffer.byteLength(end?.stderr ?? ""),
  stored_bytes: 0,
  engagement: start.engagement?.name ?? null,
  engagement_hash: start.engagement?.hash ?? null,
  structured: end?.structured ?? null
})

export const pendingRaw = ({ end, start }: Pending): ScanRaw => ({
  scan_id: start.scan_id,
  stdout: end?.stdout ?? "",
  stderr: end?.stderr ?? "",
  truncated_stdout: end?.truncated_stdout ?? false,
  truncated_stderr: end?.truncated_stderr ?? false
})
