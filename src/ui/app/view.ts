import type { ScanComparison } from "../../results/compare.js"
import type { NmapRun } from "../../tools/nmap/result.js"
import { isNmapRun } from "../components/model.js"

/**
 * What the scan viewer shows for one tool result the host hands it
 * (`ui/notifications/tool-result`, a CallToolResult): a NmapTool result
 * (`structuredContent.result` is the nmap report), a ScanDiff comparison
 * (`structuredContent.comparison`), a failed call (its text says what to
 * do), or anything else as its text. Pure, so it is tested without a browser.
 */

export type View =
  | { readonly kind: "waiting" }
  | { readonly kind: "scan"; readonly run: NmapRun; readonly summary: string; readonly scanId: string | null }
  | { readonly kind: "diff"; readonly comparison: ScanComparison }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "text"; readonly text: string }

/** The part of a CallToolResult the viewer reads. */
export interface ToolResultLike {
  readonly content?: ReadonlyArray<{ readonly type: string; readonly text?: unknown }>
  readonly structuredContent?: Readonly<Record<string, unknown>>
  readonly isError?: boolean
}

const textOf = (result: ToolResultLike): string =>
  (result.content ?? []).flatMap((c) => c.type === "text" && typeof c.text === "string" ? [c.text] : []).join("\n\n")

const isComparison = (value: unknown): value is ScanComparison => {
  const diff = (value as { readonly diff?: { readonly ports_opened?: unknown } } | null)?.diff
  return typeof value === "object" && value !== null && Array.isArray(diff?.ports_opened)
}

const scanIdOf = (structured: Readonly<Record<string, unknown>>): string | null => {
  const id = (structured["execution"] as { readonly scan_id?: unknown } | undefined)?.scan_id
  return typeof id === "string" ? id : null
}

export const viewOf = (result: ToolResultLike): View => {
  const structured = result.structuredContent ?? {}
  if (result.isError === true) return { kind: "error", message: textOf(result) || "The tool call failed." }
  if (isComparison(structured["comparison"])) return { kind: "diff", comparison: structured["comparison"] }
  if (isNmapRun(structured["result"])) {
    return { kind: "scan", run: structured["result"], summary: textOf(result), scanId: scanIdOf(structured) }
  }
  return { kind: "text", text: textOf(result) }
}
