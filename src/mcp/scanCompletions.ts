import { Effect } from "effect"
import { nmapResultOf } from "../results/compare.js"
import { MAX_PAGE, type Viewer, viewerOf } from "../storage/ScanRecord.js"
import { hostAddress } from "../tools/nmap/result.js"
import { type CompletionSource, targetSuggestions } from "./completions.js"
import type { ScanAccess } from "./scans.js"

/**
 * Completions from the scan store, as far as the caller may read it: the
 * ids of its recent scans for `scan://{id}…` and `diff://{a}/{b}`, the
 * addresses of a scan for `scan://{id}/hosts/{address}`, and the targets it
 * scanned (then the usual suggestions) for `history://{target}` and the
 * target of compare-with-last-scan; the same for the `report://` forms,
 * and their formats.
 */

const SCAN_ID_TEMPLATES: ReadonlySet<string> = new Set([
  "scan://{id}",
  "scan://{id}/raw",
  "scan://{id}/hosts/{address}",
  "report://scan/{id}.{format}"
])

/** The forms of each report template. */
const REPORT_FORMATS: Readonly<Record<string, ReadonlyArray<string>>> = {
  "report://scan/{id}.{format}": ["md", "html", "json", "csv"],
  "report://diff/{a}/{b}.{format}": ["md", "html"],
  "report://history/{target}.{format}": ["md", "html"]
}

const recent = (access: ScanAccess, viewer: Viewer) =>
  access.store.list({ limit: MAX_PAGE }, viewer).pipe(
    Effect.map((page) => page.scans),
    Effect.orElseSucceed(() => [])
  )

const ids = (access: ScanAccess, viewer: Viewer) => Effect.map(recent(access, viewer), (scans) => scans.map((s) => s.scan_id))

const targets = (access: ScanAccess, viewer: Viewer) => Effect.map(recent(access, viewer), (scans) => scans.map((s) => s.target))

const addresses = (access: ScanAccess, viewer: Viewer, scanId: string | undefined) =>
  scanId === undefined ? Effect.succeed([]) : access.store.get(scanId, viewer).pipe(
    Effect.flatMap(nmapResultOf),
    Effect.map((run) => run.hosts.map(hostAddress)),
    Effect.orElseSucceed(() => [])
  )

export const scanCompletions = (access: ScanAccess): CompletionSource => (query, env) => {
  if (env.caller === undefined) return Effect.succeed(undefined)
  const viewer = viewerOf(env.caller)
  const { argument, ref } = query
  if (ref.type === "ref/prompt") {
    return ref.name === "compare-with-last-scan" && argument === "target"
      ? Effect.map(targets(access, viewer), (stored) => [...stored, ...targetSuggestions(env)])
      : Effect.succeed(undefined)
  }
  if (SCAN_ID_TEMPLATES.has(ref.uri) && argument === "id") return ids(access, viewer)
  if (ref.uri === "scan://{id}/hosts/{address}" && argument === "address") return addresses(access, viewer, query.context["id"])
  if (argument === "format" && REPORT_FORMATS[ref.uri] !== undefined) return Effect.succeed(REPORT_FORMATS[ref.uri])
  const diff = ref.uri === "diff://{a}/{b}" || ref.uri === "report://diff/{a}/{b}.{format}"
  if (diff && (argument === "a" || argument === "b")) return ids(access, viewer)
  if ((ref.uri === "history://{target}" || ref.uri === "report://history/{target}.{format}") && argument === "target") {
    return Effect.map(targets(access, viewer), (stored) => [...stored, ...targetSuggestions(env)])
  }
  return Effect.succeed(undefined)
}
