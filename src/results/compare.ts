import { Effect, Option, Schema } from "effect"
import { InvalidInput } from "../errors.js"
import type { ScanNotFound, StoreUnavailable } from "../storage/errors.js"
import { ScanId, type ScanRecord, type Viewer } from "../storage/ScanRecord.js"
import type { ScanStoreService } from "../storage/ScanStore.js"
import { NmapRun } from "../tools/nmap/result.js"
import { diffScans } from "./diff.js"
import { summarizeDiff } from "./diffSummary.js"
import { ScanDiff } from "./ScanDiff.js"

/**
 * Two stored scans compared: what the REST diff route, the ScanDiff tool
 * and the `diff://{a}/{b}` resource return. Only results in nmap's form
 * (nmap, masscan) can be compared; the later-named scan is the newer state.
 */

/** Tools whose structured result is an nmap report (`NmapRun`). */
export const DIFFABLE_TOOLS: ReadonlySet<string> = new Set(["NmapTool", "MasscanTool"])

export const diffUri = (from: string, to: string): string => `diff://${from}/${to}`

const Side = Schema.Struct({
  scan_id: ScanId,
  tool: Schema.String,
  target: Schema.String,
  started_at: Schema.String,
  outcome: Schema.String
})

export const ScanComparison = Schema.Struct({
  from: Side.annotations({ description: "The earlier state" }),
  to: Side.annotations({ description: "The later state" }),
  diff: ScanDiff,
  summary: Schema.String.annotations({ description: "The diff in a few lines, within results.summary_tokens" })
}).annotations({ identifier: "ScanComparison", description: "What changed from one stored scan to another (ndiff's semantics)" })
export type ScanComparison = typeof ScanComparison.Type

const decodeRun = Schema.decodeUnknown(NmapRun)

const notComparable = (record: ScanRecord, why: string) =>
  new InvalidInput({
    message:
      `scan ${record.scan_id} (${record.tool}, ${record.outcome}) cannot be compared: ${why}. Compare two scans of NmapTool or MasscanTool that produced a result.`,
    issues: [`${record.scan_id}: ${why}`]
  })

/** The scan's result as an nmap report, or why it has none. */
export const nmapResultOf = (record: ScanRecord): Effect.Effect<NmapRun, InvalidInput> => {
  if (!DIFFABLE_TOOLS.has(record.tool)) return Effect.fail(notComparable(record, `${record.tool} results are not port scans`))
  if (record.structured === null) return Effect.fail(notComparable(record, "it has no structured result"))
  return decodeRun(record.structured).pipe(Effect.mapError(() => notComparable(record, "its stored result is not an nmap report")))
}

const side = (record: ScanRecord) => ({
  scan_id: record.scan_id,
  tool: record.tool,
  target: record.target,
  started_at: record.started_at,
  outcome: record.outcome
})

/** The comparison of two records already read. */
export const compareRecords = (from: ScanRecord, to: ScanRecord, tokens: number): Effect.Effect<ScanComparison, InvalidInput> =>
  Effect.gen(function*() {
    const diff = diffScans(yield* nmapResultOf(from), yield* nmapResultOf(to))
    const summary = summarizeDiff(diff, { tokens, resource: diffUri(from.scan_id, to.scan_id) })
    return { from: side(from), to: side(to), diff, summary }
  })

/** Scan `from` compared with scan `to`, both visible to `viewer`. */
export const compareScans = (
  store: ScanStoreService,
  from: string,
  to: string,
  viewer: Viewer,
  tokens: number
): Effect.Effect<ScanComparison, ScanNotFound | StoreUnavailable | InvalidInput> =>
  Effect.flatMap(
    Effect.all([store.get(from, viewer), store.get(to, viewer)], { concurrency: 2 }),
    ([a, b]) => compareRecords(a, b, tokens)
  )

/** The newest earlier succeeded scan of the same tool, target, template and arguments, compared with `scanId`. */
export const compareWithPrevious = (
  store: ScanStoreService,
  scanId: string,
  viewer: Viewer,
  tokens: number
): Effect.Effect<ScanComparison, ScanNotFound | StoreUnavailable | InvalidInput> =>
  Effect.gen(function*() {
    const current = yield* store.get(scanId, viewer)
    const previous = yield* store.previous(scanId, viewer)
    if (Option.isNone(previous)) {
      return yield* new InvalidInput({
        message:
          `no earlier succeeded scan of ${current.tool} with the same target (${current.target}), template and arguments to compare ${scanId} with; run the same scan again later, or give both scan ids`,
        issues: [`${scanId}: no previous scan`]
      })
    }
    return yield* compareRecords(previous.value, current, tokens)
  })
