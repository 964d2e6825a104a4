import { Effect, Schema } from "effect"
import { type FileHandle, open } from "node:fs/promises"
import { AuditUnavailable, InvalidInput } from "../errors.js"
import type { AuditLine } from "./AuditLog.js"
import {
  auditFilter,
  type AuditPage,
  type AuditPosition,
  type AuditQuery,
  decodeCursor,
  encodeCursor,
  parseAuditLine
} from "./auditSearch.js"

/**
 * Searching the audit log where it lies: the current file, then the one
 * logrotate renamed to `.1`, read backwards in fixed chunks from the end
 * (newest first), so memory stays at one chunk plus one line and the page,
 * however large the files are. A request reads at most `budget` bytes; the
 * cursor goes on from where it stopped.
 */

/** No audit file is configured: there is nothing to search (lines go to the application log). */
export class AuditLogNotConfigured extends Schema.TaggedError<AuditLogNotConfigured>()("AuditLogNotConfigured", {
  message: Schema.String
}) {}

export const auditLogNotConfigured = new AuditLogNotConfigured({
  message:
    "No audit file is configured (security.audit_log_path is empty): audit lines go to the application log. Set security.audit_log_path to search them here."
})

export interface ReadOptions {
  readonly chunkBytes?: number
  /** Longer lines are skipped (counted) without being kept whole. */
  readonly maxLineBytes?: number
  /** Bytes one request may read before it returns what it found, with a cursor. */
  readonly budget?: number
}

const CHUNK = 64 * 1024
const MAX_LINE = 1024 * 1024
const BUDGET = 32 * 1024 * 1024
const NEWLINE = 0x0a

/** A newline-terminated line, where it starts; `text` undefined when it was longer than allowed. */
interface RawLine {
  readonly text: string | undefined
  readonly start: number
}

/**
 * The newline-terminated lines of bytes [0, end), last first. Bytes after the
 * last newline (a line being written) are not a line yet and are left out.
 */
export async function* linesBackwards(handle: FileHandle, end: number, options: ReadOptions = {}): AsyncGenerator<RawLine> {
  const chunkBytes = options.chunkBytes ?? CHUNK
  const maxLine = options.maxLineBytes ?? MAX_LINE
  let carry: Array<Buffer> = []
  let carried = 0
  let tooLong = false
  let terminated = false
  const take = (head: Buffer, start: number): RawLine => {
    const long = tooLong || carried + head.length > maxLine
    const line = { text: long ? undefined : Buffer.concat([head, ...carry]).toString("utf8"), start }
    carry = []
    carried = 0
    tooLong = false
    return line
  }
  let position = end
  while (position > 0) {
    const size = Math.min(chunkBytes, position)
    position -= size
    const buffer = Buffer.alloc(size)
    const { bytesRead } = await handle.read(buffer, 0, size, position)
    const bytes = buffer.subarray(0, bytesRead)
    let segmentEnd = bytes.length
    for (let i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i] !== NEWLINE) continue
      if (terminated) yield take(bytes.subarray(i + 1, segmentEnd), position + i + 1)
      terminated = true
      segmentEnd = i
    }
    if (!terminated || segmentEnd === 0) continue
    if (tooLong || carried + segmentEnd > maxLine) {
      tooLong = true
      carry = []
      carried = 0
    } else {
      carry.unshift(Buffer.from(bytes.subarray(0, segmentEnd)))
      carried += segmentEnd
    }
  }
  if (terminated) yield take(Buffer.alloc(0), 0)
}

interface OpenLog {
  readonly id: string
  readonly size: number
  readonly handle: FileHandle
}

const openLog = async (path: string): Promise<OpenLog | undefined> => {
  const handle = await open(path, "r").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined
    throw error
  })
  if (handle === undefined) return undefined
  const info = await handle.stat()
  return { id: `${info.dev}-${info.ino}`, size: info.size, handle }
}

class CursorExpired extends Error {}

const startOf = (logs: ReadonlyArray<OpenLog>, cursor: string | undefined): AuditPosition & { readonly index: number } => {
  if (cursor === undefined) return { index: 0, file: logs[0]?.id ?? "", offset: logs[0]?.size ?? 0 }
  const position = decodeCursor(cursor)
  const index = position === undefined ? -1 : logs.findIndex((log) => log.id === position.file)
  if (position === undefined || index < 0) throw new CursorExpired()
  return { index, file: position.file, offset: Math.min(position.offset, logs[index]!.size) }
}

/** One page of the audit log at `path` (and `path.1`) that matches `query`, newest first. */
export const searchAuditFiles = async (path: string, query: AuditQuery, options: ReadOptions = {}): Promise<AuditPage> => {
  const logs = (await Promise.all([openLog(path), openLog(`${path}.1`)])).filter((log): log is OpenLog => log !== undefined)
  try {
    const matches = auditFilter(query)
    const limit = query.limit ?? 50
    const budget = options.budget ?? BUDGET
    const found: Array<AuditLine> = []
    let scanned = 0
    let skipped = 0
    let readBefore = 0
    const page = (next: AuditPosition | null, exhausted = false): AuditPage => ({
      lines: found,
      next_cursor: next === null ? null : encodeCursor(next),
      scanned_lines: scanned,
      skipped_lines: skipped,
      exhausted_budget: exhausted
    })
    const start = startOf(logs, query.cursor)
    for (let index = start.index; index < logs.length; index++) {
      const log = logs[index]!
      const end = index === start.index ? start.offset : log.size
      // The start of a file is the end of the page only when no older file follows.
      const after = (offset: number) => (offset > 0 || index + 1 < logs.length ? { file: log.id, offset } : null)
      for await (const line of linesBackwards(log.handle, end, options)) {
        scanned++
        const decoded = line.text === undefined ? undefined : parseAuditLine(line.text)
        if (decoded === undefined) skipped++
        else if (matches(decoded, line.text!)) found.push(decoded)
        if (found.length >= limit) return page(after(line.start))
        if (readBefore + end - line.start >= budget) return page(after(line.start), true)
      }
      readBefore += end
    }
    return page(null)
  } finally {
    await Promise.all(logs.map((log) => log.handle.close().catch(() => undefined)))
  }
}

/** The search as an Effect: a cursor into a file rotated away is InvalidInput, a file that cannot be read AuditUnavailable. */
export const searchAudit = (
  path: string,
  query: AuditQuery,
  options: ReadOptions = {}
): Effect.Effect<AuditPage, InvalidInput | AuditUnavailable> =>
  Effect.tryPromise({
    try: () => searchAuditFiles(path, query, options),
    catch: (error) =>
      error instanceof CursorExpired
        ? new InvalidInput({
          message:
            "The cursor names no audit file that is still there (rotated away, or not a cursor of GET /audit): search again without it",
          issues: ["cursor"]
        })
        : new AuditUnavailable({ path, message: `The audit log cannot be read: ${error instanceof Error ? error.message : String(error)}` })
  })
