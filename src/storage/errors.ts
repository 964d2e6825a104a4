import { Schema } from "effect"

/**
 * The store's typed failures. Neither is ever a scan's failure: a scan that
 * could not be stored still returns its result (see ScanRecorder).
 */

/** The database cannot be used now (disabled, not open yet, disk full, server down); `message` says what to check. */
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  operation: Schema.String,
  message: Schema.String
}) {}

/** No stored scan with this id that the caller may read (other keys' scans look the same as missing ones). */
export class ScanNotFound extends Schema.TaggedError<ScanNotFound>()("ScanNotFound", {
  scan_id: Schema.String,
  message: Schema.String
}) {}

export const scanNotFound = (scanId: string) =>
  new ScanNotFound({
    scan_id: scanId,
    message:
      `No stored scan ${scanId} that this key may read. Scan ids come from scan_id in execute responses or from the scan list; a key sees only its own scans unless it has the admin scope, and scans past the retention limits are deleted.`
  })
