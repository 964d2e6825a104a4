import type { Approval } from "../Approval.js"
import { type Engagement, engagementHash } from "../policy/Engagement.js"
import type { ScanEntry } from "../storage/ScanRecord.js"
import { type Block, bullets, code, facts, heading, type Inline, paragraph } from "./Document.js"

/**
 * What a scan ran under, for the appendix of every report: the engagement
 * and the hash of its scope at the time, whether that scope has changed
 * since, the approval (who asked, who approved), and the notes the policy
 * added to the call.
 */
export interface ScanContext {
  readonly scan: ScanEntry
  /** The approval it ran under, when one is found among those the reader may see. */
  readonly approval: Approval | undefined
  /** The engagement's current definition, when the reader acts in it. */
  readonly engagement: Engagement | undefined
  /** False when the approvals could not be read (storage down): the report says so instead of "none". */
  readonly approvalsRead: boolean
}

const scopeFacts = (scan: ScanEntry, engagement: Engagement | undefined): ReadonlyArray<readonly [string, ReadonlyArray<Inline>]> => {
  if (scan.engagement === null) return [["Engagement", ["none: the call ran under the server's policy alone"]]]
  const recorded: ReadonlyArray<readonly [string, ReadonlyArray<Inline>]> = [
    ["Engagement", [code(scan.engagement)]],
    ["Scope hash at the scan", [code(scan.engagement_hash ?? "unknown")]]
  ]
  if (engagement === undefined) return [...recorded, ["Scope now", ["not shown (not configured now, or not an engagement of this key)"]]]
  const now = engagementHash(engagement)
  return [
    ...recorded,
    ["Scope now", now === scan.engagement_hash ? ["unchanged since the scan"] : ["changed since the scan, now ", code(now)]],
    ["In scope", [code(engagement.targets.join(", "))]],
    ["Excluded", engagement.exclude.length === 0 ? ["nothing"] : [code(engagement.exclude.join(", "))]],
    ["Approval rule", [engagement.approval === "none" ? "no call needs approval" : `${engagement.approval} calls need approval`]]
  ]
}

const approvalFacts = (context: ScanContext): ReadonlyArray<readonly [string, ReadonlyArray<Inline>]> => {
  const a = context.approval
  if (a === undefined) {
    return [[
      "Approval",
      [
        context.approvalsRead
          ? "none found (the call needed none, or its approval is not visible to this key)"
          : "approvals could not be read now"
      ]
    ]]
  }
  return [
    ["Approval", [code(a.approval_id)]],
    ["Requested by", [code(a.requested_by), ` at ${a.requested_at}`]],
    ["Approved by", a.decided_by === null ? ["unknown"] : [code(a.decided_by), ` at ${a.decided_at ?? "?"}`]],
    ...(a.reason === null ? [] : [["Approver's reason", [code(a.reason)]] as const]),
    ["Used at", [a.used_at ?? "?"]],
    ...(a.intrusive_reasons.length === 0 ? [] : [["Intrusive because", [code(a.intrusive_reasons.join(", "))]] as const])
  ]
}

const contextBlocks = (context: ScanContext, labelled: boolean): ReadonlyArray<Block> => [
  ...(labelled ? [heading(2, `Scan ${context.scan.scan_id}`)] : []),
  facts([
    ...scopeFacts(context.scan, context.engagement),
    ...approvalFacts(context),
    ["Intrusive", [context.scan.intrusive ? "yes" : "no"]],
    ["Key", [code(context.scan.caller_id)]],
    ["Correlation id", [code(context.scan.correlation_id)]]
  ]),
  ...(context.scan.notes.length === 0
    ? [paragraph("Policy notes: none.")]
    : [paragraph("Policy notes:"), bullets(context.scan.notes.map((note) => [note]))])
]

export const appendix = (contexts: ReadonlyArray<ScanContext>, generatedAt: string): ReadonlyArray<Block> => [
  heading(1, "Appendix: engagement, approvals and policy"),
  ...contexts.flatMap((context) => contextBlocks(context, contexts.length > 1)),
  paragraph(`Generated at ${generatedAt} by the Security MCP Server from the scan store.`)
]
