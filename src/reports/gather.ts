import { Clock, Effect, Option } from "effect"
import type { Approval } from "../Approval.js"
import type { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import type { InvalidInput } from "../errors.js"
import { type Caller, inEngagement } from "../identity/Caller.js"
import { compareRecords, DIFFABLE_TOOLS, nmapResultOf } from "../results/compare.js"
import { Approvals, type ApprovalsService } from "../storage/Approvals.js"
import type { ScanNotFound, StoreUnavailable } from "../storage/errors.js"
import { type ScanEntry, type ScanRecord, viewerOf } from "../storage/ScanRecord.js"
import type { ScanStoreService } from "../storage/ScanStore.js"
import type { NmapRun } from "../tools/nmap/result.js"
import type { ScanContext } from "./appendix.js"
import { approvalOf } from "./approvalMatch.js"
import { diffDocument } from "./diffReport.js"
import type { Document } from "./Document.js"
import { exportCsv, scanExport } from "./exports.js"
import { type ExportFormat, type Rendered, rendered, type ReportFormat } from "./formats.js"
import { historyDocument, type HistoryItem } from "./historyReport.js"
import { renderHtml } from "./html.js"
import { renderMarkdown } from "./markdown.js"
import { scanDocument } from "./scanReport.js"

/**
 * Reports and exports as a caller reads them: the scans through the store
 * with the caller's visibility (another key's scan is not found, as with
 * `GET /scans/{id}`), the approvals the caller may see, the engagements it
 * acts in. The REST routes and the MCP resources and tool all come here.
 */
export interface ReportSources {
  readonly store: ScanStoreService
  readonly approvals: Option.Option<ApprovalsService>
  readonly config: Effect.Effect<AppConfig>
}

export const reportSources = (store: ScanStoreService, config: ConfigService["Type"]): Effect.Effect<ReportSources> =>
  Effect.map(Effect.serviceOption(Approvals), (approvals) => ({ store, approvals, config: config.get }))

/** Scans of a history report: enough to see a trend, few enough to read each result whole. */
export const HISTORY_SCANS = 25

type ReportError = ScanNotFound | StoreUnavailable

const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms).toISOString())

const runOf = (record: ScanRecord): Effect.Effect<NmapRun | undefined> =>
  DIFFABLE_TOOLS.has(record.tool) ? Effect.orElseSucceed(nmapResultOf(record), () => undefined) : Effect.succeed(undefined)

/** What the appendices need of every scan of a report, with the approvals read once. */
const contexts = <S extends ScanEntry>(sources: ReportSources, scans: ReadonlyArray<S>, caller: Caller) =>
  Effect.gen(function*() {
    const config = yield* sources.config
    const engaged = scans.some((s) => s.engagement !== null)
    const approvals: Option.Option<ReadonlyArray<Approval>> = !engaged
      ? Option.some([])
      : Option.isNone(sources.approvals)
      ? Option.none()
      : yield* Effect.option(sources.approvals.value.list(caller))
    return scans.map((scan): ScanContext & { readonly scan: S } => ({
      scan,
      approval: Option.match(approvals, { onNone: () => undefined, onSome: (list) => approvalOf(scan, list) }),
      approvalsRead: Option.isSome(approvals),
      engagement: scan.engagement === null || !inEngagement(caller, scan.engagement)
        ? undefined
        : config.engagements.find((e) => e.name === scan.engagement)
    }))
  })

const write = (doc: Document, format: ReportFormat, stem: string): Rendered =>
  rendered(format === "md" ? renderMarkdown(doc) : renderHtml(doc), format, stem)

export const scanReport = (sources: ReportSources, scanId: string, caller: Caller, format: ReportFormat) =>
  Effect.gen(function*() {
    const record = yield* sources.store.get(scanId, viewerOf(caller))
    const [context] = yield* contexts(sources, [record], caller)
    const doc = scanDocument({ context: context!, run: yield* runOf(record), generatedAt: yield* now })
    return write(doc, format, `scan-${record.scan_id}`)
  }) satisfies Effect.Effect<Rendered, ReportError>

export const diffReport = (sources: ReportSources, from: string, to: string, caller: Caller, format: ReportFormat) =>
  Effect.gen(function*() {
    const viewer = viewerOf(caller)
    const [a, b] = yield* Effect.all([sources.store.get(from, viewer), sources.store.get(to, viewer)], { concurrency: 2 })
    const tokens = (yield* sources.config).results.summary_tokens
    const comparison = yield* compareRecords(a, b, tokens)
    const [ca, cb] = yield* contexts(sources, [a, b], caller)
    const doc = diffDocument({ comparison, from: ca!, to: cb!, generatedAt: yield* now })
    return write(doc, format, `diff-${a.scan_id}-${b.scan_id}`)
  }) satisfies Effect.Effect<Rendered, ReportError | InvalidInput>

export const historyReport = (sources: ReportSources, target: string, caller: Caller, format: ReportFormat) =>
  Effect.gen(function*() {
    const viewer = viewerOf(caller)
    const page = yield* sources.store.history(target, viewer, { limit: HISTORY_SCANS })
    // A scan deleted by the retention sweep between the list and the read is left out.
    const records = yield* Effect.forEach(
      page.scans,
      (entry) =>
        sources.store.get(entry.scan_id, viewer).pipe(
          Effect.map(Option.some),
          Effect.catchTag("ScanNotFound", () => Effect.succeed(Option.none<ScanRecord>()))
        ),
      { concurrency: 4 }
    )
    const found = records.flatMap(Option.toArray)
    const withContext = yield* contexts(sources, found, caller)
    const items: ReadonlyArray<HistoryItem> = yield* Effect.forEach(withContext, (context) =>
      Effect.map(runOf(context.scan), (run) => ({ context, run })))
    const doc = historyDocument({ target, items, more: page.next_cursor !== null, generatedAt: yield* now })
    return write(doc, format, `history-${target}`)
  }) satisfies Effect.Effect<Rendered, StoreUnavailable | InvalidInput>

export const scanExportOf = (sources: ReportSources, scanId: string, caller: Caller, format: ExportFormat) =>
  Effect.gen(function*() {
    const record = yield* sources.store.get(scanId, viewerOf(caller))
    const data = scanExport(record, yield* nmapResultOf(record))
    return rendered(format === "json" ? JSON.stringify(data) : exportCsv(data), format, `scan-${record.scan_id}-hosts`)
  }) satisfies Effect.Effect<Rendered, ReportError | InvalidInput>
