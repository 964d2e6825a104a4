import { Either, Schema } from "effect"
import { AuditLine, AuditOutcome } from "./AuditLog.js"

/**
 * What an operator asks of the audit log, and which lines answer it: plain
 * functions over the audit line Schema (the file is read by auditFile.ts).
 */

const DateTime = Schema.String.pipe(
  Schema.filter((text) => !Number.isNaN(Date.parse(text)), { message: () => "an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z" })
).annotations({ jsonSchema: { type: "string", format: "date-time" } })

export const MAX_AUDIT_PAGE = 500

export const AuditQuery = Schema.Struct({
  caller: Schema.optional(Schema.String.annotations({ description: "The API key id (exact)" })),
  tool: Schema.optional(
    Schema.String.annotations({ description: "The tool name (exact); a rejections line matches when it counts the tool" })
  ),
  target: Schema.optional(
    Schema.String.annotations({ description: "Part of the target as sent or of the address scanned (case-insensitive)" })
  ),
  decision: Schema.optional(
    Schema.String.annotations({
      description:
        "allowed, rejected (any rejected:<tag>, and rejections lines), rejected:<tag>, approval (any approval:*) or approval:<decision>"
    })
  ),
  outcome: Schema.optional(AuditOutcome.annotations({ description: "The outcome (execution lines only)" })),
  from: Schema.optional(DateTime.annotations({ description: "Written at or after (ISO 8601)" })),
  to: Schema.optional(DateTime.annotations({ description: "Written before (ISO 8601)" })),
  q: Schema.optional(Schema.String.annotations({ description: "Free text found anywhere in the line (case-insensitive)" })),
  limit: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, MAX_AUDIT_PAGE)).annotations({
      description: `Lines per page, 1 to ${MAX_AUDIT_PAGE} (default 50)`
    })
  ),
  cursor: Schema.optional(Schema.String.annotations({ description: "next_cursor of the previous page" }))
})
export type AuditQuery = typeof AuditQuery.Type

export const AuditPage = Schema.Struct({
  lines: Schema.Array(AuditLine).annotations({ description: "The matching lines, newest first" }),
  next_cursor: Schema.NullOr(Schema.String).annotations({
    description: "Where the next page starts (older lines); null once the current file and its rotated .1 are read to the start"
  }),
  scanned_lines: Schema.Int.annotations({ description: "Lines read for this page" }),
  skipped_lines: Schema.Int.annotations({ description: "Lines read that are not audit lines (corrupt, truncated, foreign): skipped" }),
  exhausted_budget: Schema.Boolean.annotations({
    description: "The page stopped at the per-request read budget before it was full: next_cursor goes on from there"
  })
}).annotations({ identifier: "AuditPage", description: "Audit lines, newest first, with a cursor to older ones" })
export type AuditPage = typeof AuditPage.Type

const lower = (text: string | undefined) => (text === undefined || text.trim() === "" ? undefined : text.trim().toLowerCase())

const decisionMatches = (wanted: string, line: AuditLine): boolean => {
  if (line.kind === "rejections") return wanted === "rejected"
  return line.decision === wanted || line.decision.startsWith(`${wanted}:`)
}

const toolMatches = (tool: string, line: AuditLine) =>
  line.kind === "execution" ? line.tool === tool : Object.prototype.hasOwnProperty.call(line.by_tool, tool)

/**
 * The query as one predicate over a decoded line and its raw text (the free
 * text is looked for in the raw line, so it also finds a field the filters
 * do not name). Empty filters match everything.
 */
export const auditFilter = (query: AuditQuery): (line: AuditLine, raw: string) => boolean => {
  const target = lower(query.target)
  const text = lower(query.q)
  const caller = query.caller?.trim() || undefined
  const tool = query.tool?.trim() || undefined
  const decision = query.decision?.trim() || undefined
  const from = query.from === undefined ? undefined : Date.parse(query.from)
  const to = query.to === undefined ? undefined : Date.parse(query.to)
  return (line, raw) => {
    if (caller !== undefined && line.caller_id !== caller) return false
    if (tool !== undefined && !toolMatches(tool, line)) return false
    if (decision !== undefined && !decisionMatches(decision, line)) return false
    if (query.outcome !== undefined && (line.kind !== "execution" || line.outcome !== query.outcome)) return false
    if (target !== undefined) {
      if (line.kind !== "execution") return false
      if (!line.target.toLowerCase().includes(target) && !(line.resolved_target ?? "").toLowerCase().includes(target)) return false
    }
    const at = Date.parse(line.timestamp)
    if (from !== undefined && !(at >= from)) return false
    if (to !== undefined && !(at < to)) return false
    return text === undefined || raw.toLowerCase().includes(text)
  }
}

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(AuditLine))

/** A line of the file as an audit line, or undefined when it is not one (it is counted as skipped, never fatal). */
export const parseAuditLine = (raw: string): AuditLine | undefined => Either.getOrUndefined(decodeLine(raw))

/**
 * A place in the log: the file by its identity (device and inode, so a page
 * that began before logrotate renamed the file goes on in `.1`) and the
 * byte offset older lines end at.
 */
export interface AuditPosition {
  readonly file: string
  readonly offset: number
}

export const encodeCursor = (position: AuditPosition): string => `${position.file}.${position.offset}`

export const decodeCursor = (cursor: string): AuditPosition | undefined => {
  const match = /^(\d+-\d+)\.(\d{1,15})$/.exec(cursor)
  return match === null ? undefined : { file: match[1]!, offset: Number(match[2]) }
}

/** How a query reads in an audit line of its own: the filters it was given. */
export const describeQuery = (query: AuditQuery): string => {
  const parts = Object.entries(query).filter(([name, value]) => name !== "cursor" && value !== undefined && value !== "")
  return parts.length === 0 ? "(all lines)" : parts.map(([name, value]) => `${name}=${String(value)}`).join(" ")
}
