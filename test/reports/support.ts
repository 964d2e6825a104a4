import { Effect, Option } from "effect"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { ScanContext } from "../../src/reports/appendix.js"
import type { ScanRecord } from "../../src/storage/ScanRecord.js"
import type { ScanRecorderService } from "../../src/storage/ScanRecorder.js"
import { parseNmapXml } from "../../src/tools/nmap/parseXml.js"
import type { NmapRun } from "../../src/tools/nmap/result.js"
import { summarizeNmap } from "../../src/tools/nmap/summary.js"
import { endOf } from "../storage/support.js"

/** Stored scans of real nmap output (test/fixtures/nmap) or generated reports, as the store returns them. */

export const fixture = (name: string): string => readFileSync(join(import.meta.dirname, "../fixtures/nmap", name), "utf8")

let counter = 0

export const recordOf = (xml: string, overrides: Partial<ScanRecord> = {}): { record: ScanRecord; run: NmapRun } => {
  const run = parseNmapXml(xml)
  counter++
  const record: ScanRecord = {
    scan_id: `01JF${String(counter).padStart(22, "0")}`,
    stored_at: "2026-11-26T05:34:06.000Z",
    tool: "NmapTool",
    caller_id: "exec",
    correlation_id: `corr-${counter}`,
    target: "127.0.0.1",
    resolved_target: "127.0.0.1",
    argv: ["/usr/bin/prlimit", "--as=1", "--", "/usr/bin/nmap", "-oX", "-", "-n", "-sT", "127.0.0.1"],
    args: ["-sT"],
    template: null,
    intrusive: false,
    notes: [],
    started_at: "2026-11-26T05:34:05.000Z",
    finished_at: "2026-11-26T05:34:06.000Z",
    execution_time: 1.2,
    outcome: "succeeded",
    returncode: 0,
    signal: null,
    timed_out: false,
    error: null,
    error_type: null,
    truncated_stdout: false,
    truncated_stderr: false,
    parse_status: "complete",
    summary: "1 host up",
    stdout_bytes: xml.length,
    stderr_bytes: 0,
    stored_bytes: 100,
    engagement: null,
    engagement_hash: null,
    structured: run,
    ...overrides
  }
  return { record, run }
}

export const contextOf = (
  scan: ScanRecord,
  extra: Partial<Omit<ScanContext, "scan">> = {}
): ScanContext & { readonly scan: ScanRecord } => ({ approval: undefined, engagement: undefined, approvalsRead: true, ...extra, scan })

/** Every element and attribute an HTML report may contain: anything else got in from a value. */
export const HTML_TAGS = new Set([
  "!DOCTYPE",
  "html",
  "head",
  "meta",
  "title",
  "style",
  "body",
  "main",
  "h1",
  "h2",
  "h3",
  "h4",
  "p",
  "dl",
  "dt",
  "dd",
  "ul",
  "li",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "pre",
  "code",
  "strong"
])
const ATTRIBUTES = new Set(["lang", "charset", "http-equiv", "content", "name", "class", "html"])

/** Tags and attributes of an HTML report that are not its own, and whether its text can hold markup (a bare `<` in text is impossible once escaped). */
export const foreignMarkup = (html: string): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const body = html.replace(/<style>[^<]*<\/style>/, "<style></style>")
  for (const match of body.matchAll(/<\/?([!A-Za-z][A-Za-z0-9]*)([^<>]*)>/g)) {
    if (!HTML_TAGS.has(match[1]!)) problems.push(`tag ${match[1]}`)
    const names = match[2]!.replace(/"[^"]*"/g, "\"\"")
    for (const attr of names.matchAll(/([A-Za-z-]+)(=?)/g)) if (!ATTRIBUTES.has(attr[1]!)) problems.push(`attribute ${attr[1]}`)
    if (/=[^"]/.test(names)) problems.push(`unquoted attribute in ${match[0]}`)
  }
  const stray = body.replace(/<\/?[!A-Za-z][A-Za-z0-9]*[^<>]*>/g, "")
  if (/[<>]/.test(stray)) problems.push("a < or > outside a tag")
  return problems
}

/** A banner that tries every kind of markup, Markdown and spreadsheet formula at once. */
export const HOSTILE =
  "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&amp; [click](javascript:alert(3)) ![i](http://x/i.png) `tick` **b** | cell |\n# heading\n=HYPERLINK(\"http://x\")"

/** A stored scan of the given nmap output, written through the recorder as the executor would write it. */
export const seedXml = (
  scans: ScanRecorderService,
  options: {
    readonly callerId: string
    readonly xml: string
    readonly target?: string
    readonly args?: ReadonlyArray<string>
    readonly engagement?: { readonly name: string; readonly hash: string }
  }
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const target = options.target ?? "127.0.0.1"
    const structured = parseNmapXml(options.xml)
    const args = options.args ?? ["-sT", "-sV"]
    const scanId = Option.getOrThrow(
      yield* scans.begin({
        tool: "NmapTool",
        caller_id: options.callerId,
        correlation_id: "seed-report",
        target,
        resolved_target: target,
        argv: ["nmap", "-oX", "-", "-n", ...args, target],
        args,
        template: null,
        intrusive: false,
        notes: ["a note of the policy"],
        engagement: options.engagement ?? null
      })
    )
    yield* scans.finish(
      scanId,
      endOf({ structured, summary: summarizeNmap(structured, { tokens: 1500, resource: `scan://${scanId}` }), stdout: options.xml })
    )
    yield* scans.flush
    return scanId
  })
