import type { CallToolResult, ReadResourceResult, ResourceTemplate, Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either, Option, Schema } from "effect"
import { errorBody, InvalidInput } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import type { ExportFormat, Rendered, ReportFormat } from "../reports/formats.js"
import { diffReport, historyReport, type ReportSources, scanExportOf, scanReport } from "../reports/gather.js"
import type { ResourceError, ResourceProvider } from "./resources.js"
import { asResource, type ScanAccess } from "./scans.js"

/**
 * Reports as MCP resources, `report://scan/{id}.md` and friends, readable
 * by whoever may read the scans (another key's scan is not found), and the
 * ScanReport tool, which answers with the Markdown report inline and links
 * both forms. Reports are derived from stored scans, so they are not listed:
 * the templates say how to name them.
 */

export const SCAN_REPORT = "ScanReport"

const ID = "([0-7][0-9A-HJKMNP-TV-Z]{25})"
const SCAN = new RegExp(`^report://scan/${ID}\\.(md|html|json|csv)$`)
const DIFF = new RegExp(`^report://diff/${ID}/${ID}\\.(md|html)$`)
const HISTORY = /^report:\/\/history\/(.+)\.(md|html)$/s

export const scanReportUri = (id: string, format: ReportFormat | ExportFormat) => `report://scan/${id}.${format}`
export const diffReportUri = (from: string, to: string, format: ReportFormat) => `report://diff/${from}/${to}.${format}`
/** The target percent-encoded (RFC 6570 simple expansion), so a CIDR's slash stays inside the one segment. */
export const historyReportUri = (target: string, format: ReportFormat) => `report://history/${encodeURIComponent(target)}.${format}`

export const reportTemplates: ReadonlyArray<ResourceTemplate> = [
  {
    uriTemplate: "report://scan/{id}.{format}",
    name: "scan-report",
    title: "Report of a stored scan",
    description:
      "format md (Markdown) or html (self-contained page): hosts, ports, services, scripts, appendix; json or csv: hosts and ports",
    mimeType: "text/markdown"
  },
  {
    uriTemplate: "report://diff/{a}/{b}.{format}",
    name: "diff-report",
    title: "Report of a diff",
    description: "What changed from scan a to scan b; format md or html",
    mimeType: "text/markdown"
  },
  {
    uriTemplate: "report://history/{target}.{format}",
    name: "history-report",
    title: "Report of a target's history",
    description: "A target's newest scans and the changes between them; format md or html",
    mimeType: "text/markdown"
  }
]

const decoded = (text: string) => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

const contents = (uri: string, report: Rendered): ReadResourceResult => ({
  contents: [{ uri, mimeType: report.mediaType.split(";")[0]!, text: report.body }]
})

const route = (sources: ReportSources, uri: string, caller: Caller) => {
  const scan = SCAN.exec(uri)
  if (scan) {
    const format = scan[2] as ReportFormat | ExportFormat
    return format === "json" || format === "csv"
      ? scanExportOf(sources, scan[1]!, caller, format)
      : scanReport(sources, scan[1]!, caller, format)
  }
  const diff = DIFF.exec(uri)
  if (diff) return diffReport(sources, diff[1]!, diff[2]!, caller, diff[3] as ReportFormat)
  const history = HISTORY.exec(uri)
  if (history) return historyReport(sources, decoded(history[1]!), caller, history[2] as ReportFormat)
  return undefined
}

export const reportResources = (access: ScanAccess): ResourceProvider => ({
  templates: reportTemplates,
  list: () => Effect.succeed({ resources: [] }),
  read: (uri, env): Effect.Effect<Option.Option<ReadResourceResult>, ResourceError> => {
    const reader = route(access.reports, uri, env.context.caller)
    return reader === undefined ? Effect.succeed(Option.none()) : asResource(Effect.map(reader, (report) => contents(uri, report)))
  }
})

const Input = Schema.Struct({
  scan_id: Schema.NullOr(Schema.String),
  baseline_scan_id: Schema.NullOr(Schema.String),
  target: Schema.NullOr(Schema.String)
})

const decode = Schema.decodeUnknownEither(Input, { onExcessProperty: "error" })

const nullableString = (description: string) => ({ anyOf: [{ type: "string" }, { type: "null" }], description })

export const scanReportTool: Tool = {
  name: SCAN_REPORT,
  title: "Report of stored scans",
  description: "Writes a Markdown report of a stored scan (scan_id), of what changed since a baseline (scan_id and baseline_scan_id) " +
    "or of a target's history (target). Runs nothing; links the HTML form.",
  inputSchema: {
    type: "object",
    properties: {
      scan_id: nullableString("scan_id of a scan; null for a history"),
      baseline_scan_id: nullableString("scan_id of an older scan to compare with, or null"),
      target: nullableString("a target for its history, or null")
    },
    required: ["scan_id", "baseline_scan_id", "target"],
    additionalProperties: false
  },
  annotations: { title: "Report of stored scans", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
}

/** What a model gets inline at most; the resource holds the whole report. */
export const MAX_INLINE_CHARS = 60_000

const invalid = (args: unknown) =>
  new InvalidInput({
    message:
      `invalid ScanReport input: give scan_id (a scan), scan_id and baseline_scan_id (a diff) or target (a history), the others null; given ${
        JSON.stringify(args)?.slice(0, 200)
      }`,
    issues: ["scan_id: a scan id or null", "baseline_scan_id: a scan id or null", "target: a target or null"]
  })

const failed = (error: { readonly _tag: string; readonly message: string }): CallToolResult => ({
  content: [{ type: "text", text: `${error._tag}: ${error.message}` }],
  structuredContent: { error: errorBody(error) },
  isError: true
})

const answer = (report: Rendered, uri: (format: ReportFormat) => string): CallToolResult => {
  const cut = report.body.length > MAX_INLINE_CHARS
  const text = cut
    ? `${report.body.slice(0, MAX_INLINE_CHARS)}\n\n[report cut at ${MAX_INLINE_CHARS} characters: the whole report is ${uri("md")}]`
    : report.body
  return {
    content: [
      { type: "text", text },
      { type: "resource_link", uri: uri("html"), name: report.filename.replace(/\.md$/, ".html"), mimeType: "text/html" },
      { type: "resource_link", uri: uri("md"), name: report.filename, mimeType: "text/markdown" }
    ]
  }
}

/** One ScanReport call as the caller: only scans it may read. */
export const callScanReport = (access: ScanAccess, args: unknown, caller: Caller): Effect.Effect<CallToolResult> => {
  const input = decode({ scan_id: null, baseline_scan_id: null, target: null, ...(typeof args === "object" && args !== null ? args : {}) })
  if (Either.isLeft(input)) return Effect.succeed(failed(invalid(args)))
  const { baseline_scan_id: baseline, scan_id: scanId, target } = input.right
  const sources = access.reports
  const run = scanId !== null && target === null
    ? baseline === null
      ? Effect.map(scanReport(sources, scanId, caller, "md"), (r) => answer(r, (f) => scanReportUri(scanId, f)))
      : Effect.map(diffReport(sources, baseline, scanId, caller, "md"), (r) => answer(r, (f) => diffReportUri(baseline, scanId, f)))
    : scanId === null && baseline === null && target !== null
    ? Effect.map(historyReport(sources, target, caller, "md"), (r) => answer(r, (f) => historyReportUri(target, f)))
    : Effect.fail(invalid(args))
  return Effect.catchAll(run, (error) => Effect.succeed(failed(error)))
}
