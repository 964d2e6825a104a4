import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type { Fragment } from "@effect/sql/Statement"
import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { InvalidInput } from "../errors.js"
import { Database, type DatabaseService } from "./Database.js"
import { type ScanNotFound, scanNotFound, type StoreUnavailable } from "./errors.js"
import { storeWriteSeconds } from "./metrics.js"
import { sweepForever, sweepOnce, type SweepResult } from "./retention.js"
import { decodeRow, decompress, ENTRY_COLUMNS, FINISH_COLUMNS, finishedColumns, startColumns, toEntry } from "./rows.js"
import {
  DEFAULT_PAGE,
  MAX_PAGE,
  type ScanEnd,
  type ScanOutcome,
  type ScanPage,
  type ScanQuery,
  type ScanRaw,
  type ScanRecord,
  type ScanStart,
  type Viewer
} from "./ScanRecord.js"
import { LIKE_ESCAPE, searchProblem, searchWords, wordPatterns } from "./scanSearch.js"
import { isUlid } from "./ulid.js"

/**
 * Stored scans: written when an execution starts (`running`) and again when
 * it ends, read back by id, listed newest first, and kept within the
 * retention limits by a background sweep. Reads apply the caller's
 * visibility: a key sees only its own scans unless it is an admin.
 */
export interface ScanStoreService {
  /** Writes the `running` row, so a scan in progress is visible and a crash leaves a trace. */
  readonly begin: (start: ScanStart) => Effect.Effect<void, StoreUnavailable>
  /** Writes the finished scan, replacing its `running` row, or inserting it whole if the begin was never written. */
  readonly finish: (start: ScanStart, end: ScanEnd) => Effect.Effect<void, StoreUnavailable>
  readonly get: (scanId: string, viewer: Viewer) => Effect.Effect<ScanRecord, ScanNotFound | StoreUnavailable>
  readonly raw: (scanId: string, viewer: Viewer) => Effect.Effect<ScanRaw, ScanNotFound | StoreUnavailable>
  /** Newest first; pass `next_cursor` back as `cursor` for the next page. */
  readonly list: (query: ScanQuery, viewer: Viewer) => Effect.Effect<ScanPage, InvalidInput | StoreUnavailable>
  /** Scans of a target, matched as sent or as the pinned address, newest first. */
  readonly history: (
    target: string,
    viewer: Viewer,
    page?: Pick<ScanQuery, "cursor" | "limit">
  ) => Effect.Effect<ScanPage, InvalidInput | StoreUnavailable>
  /**
   * The newest scan before `scanId` with the same tool, target as sent,
   * template and arguments, visible to `viewer`, that ended with one of
   * `outcomes` (default: succeeded).
   */
  readonly previous: (
    scanId: string,
    viewer: Viewer,
    outcomes?: ReadonlyArray<ScanOutcome>
  ) => Effect.Effect<Option.Option<ScanRecord>, ScanNotFound | StoreUnavailable>
  /** Applies the retention limits now (the background sweep does it every `storage.sweep_interval`). */
  readonly sweep: Effect.Effect<SweepResult, StoreUnavailable>
}

export class ScanStore extends Context.Tag("security-mcp/ScanStore")<ScanStore, ScanStoreService>() {
  /** The store over `Database`, with its retention sweep running for the life of the layer. */
  static readonly layer: Layer.Layer<ScanStore, never, Database | ConfigService> = Layer.scoped(
    ScanStore,
    Effect.gen(function*() {
      const db = yield* Database
      const config = yield* ConfigService
      if (db.enabled) yield* Effect.forkScoped(sweepForever(db, config))
      return makeScanStore(db, Effect.flatMap(config.get, (c) => sweepOnce(db, c.storage.retention)))
    })
  )
}

const corrupt = (cause: unknown) => new SqlError({ cause, message: "a stored result is not valid JSON" })

const parseJson = (text: string) =>
  text === "" ? Effect.succeed(null) : Effect.try({ try: () => JSON.parse(text) as unknown, catch: corrupt })

const timedWrite = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = yield* Clock.currentTimeNanos
    const out = yield* effect
    const end = yield* Clock.currentTimeNanos
    yield* Metric.update(storeWriteSeconds, Number(end - start) / 1e9)
    return out
  })

const visible = (sql: SqlClient.SqlClient, viewer: Viewer): ReadonlyArray<Fragment> =>
  viewer.admin ? [] : [sql`caller_id = ${viewer.callerId}`]

const parseTime = (name: string, text: string | undefined): Effect.Effect<number | undefined, InvalidInput> => {
  if (text === undefined) return Effect.succeed(undefined)
  const millis = Date.parse(text)
  return Number.isNaN(millis)
    ? Effect.fail(
      new InvalidInput({ message: `${name} must be an ISO 8601 time such as 2025-01-31T12:00:00Z`, issues: [`${name}: ${text}`] })
    )
    : Effect.succeed(millis)
}

/** No stored tool, target or caller holds a control character; PostgreSQL refuses NUL in a text parameter outright. */
const CONTROL = /[\u0000-\u001f\u007f]/

const checkText = (query: ScanQuery): Effect.Effect<void, InvalidInput> => {
  const bad = (["tool", "target", "caller", "q"] as const).find((name) => CONTROL.test(query[name] ?? ""))
  if (bad !== undefined) {
    return Effect.fail(
      new InvalidInput({ message: `${bad} must not contain control characters`, issues: [`${bad}: ${JSON.stringify(query[bad])}`] })
    )
  }
  const problem = query.q === undefined ? undefined : searchProblem(query.q)
  return problem === undefined ? Effect.void : Effect.fail(new InvalidInput({ message: problem, issues: [`q: ${problem}`] }))
}

/** One word of the search, in any of the columns it may appear in. */
const wordIn = (sql: SqlClient.SqlClient, word: string) => {
  const { json, text } = wordPatterns(word)
  const like = (column: string, pattern: string) => sql`lower(${sql(column)}) LIKE ${pattern} ESCAPE ${LIKE_ESCAPE}`
  return sql.or([
    like("summary", text),
    like("target", text),
    like("resolved_target", text),
    like("tool", text),
    like("argv", json)
  ])
}

const checkQuery = (query: ScanQuery) =>
  Effect.gen(function*() {
    yield* checkText(query)
    if (query.cursor !== undefined && !isUlid(query.cursor)) {
      return yield* new InvalidInput({
        message: "cursor must be the next_cursor of a previous page",
        issues: [`cursor: ${query.cursor}`]
      })
    }
    const limit = query.limit ?? DEFAULT_PAGE
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
      return yield* new InvalidInput({ message: `limit must be an integer from 1 to ${MAX_PAGE}`, issues: [`limit: ${limit}`] })
    }
    return { since: yield* parseTime("since", query.since), until: yield* parseTime("until", query.until), limit }
  })

const listQuery = (query: ScanQuery, viewer: Viewer, bounds: { since?: number; until?: number; limit: number }) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const where: Array<Fragment> = [...visible(sql, viewer)]
    if (query.tool !== undefined) where.push(sql`tool = ${query.tool}`)
    if (query.target !== undefined) where.push(sql`(target = ${query.target} OR resolved_target = ${query.target})`)
    if (query.caller !== undefined) where.push(sql`caller_id = ${query.caller}`)
    if (query.outcome !== undefined) where.push(sql`outcome = ${query.outcome}`)
    for (const word of searchWords(query.q ?? "")) where.push(wordIn(sql, word))
    if (bounds.since !== undefined) where.push(sql`started_ms >= ${bounds.since}`)
    if (bounds.until !== undefined) where.push(sql`started_ms < ${bounds.until}`)
    if (query.cursor !== undefined) where.push(sql`id < ${query.cursor}`)
    const rows = yield* sql`SELECT ${sql.literal(ENTRY_COLUMNS)} FROM scans WHERE ${sql.and(where)}
      ORDER BY id DESC LIMIT ${bounds.limit + 1}`
    const entries = yield* Effect.forEach(rows.slice(0, bounds.limit), (row) => Effect.map(decodeRow(row), toEntry))
    const more = rows.length > bounds.limit
    return { scans: entries, next_cursor: more ? entries[entries.length - 1]!.scan_id : null } satisfies ScanPage
  })

/** One row with its structured result, or none when it does not exist or the viewer may not see it. */
const selectRecord = (where: (sql: SqlClient.SqlClient) => ReadonlyArray<Fragment>, viewer: Viewer) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<
      { structured_gz: Uint8Array | null; blob_codec: unknown }
    >`SELECT ${sql.literal(ENTRY_COLUMNS)}, structured_gz, blob_codec FROM scans
      WHERE ${sql.and([...where(sql), ...visible(sql, viewer)])} ORDER BY id DESC LIMIT 1`
    if (rows[0] === undefined) return Option.none<ScanRecord>()
    const entry = toEntry(yield* decodeRow(rows[0]))
    const structured = yield* Effect.flatMap(decompress(rows[0].structured_gz, rows[0].blob_codec), parseJson)
    return Option.some<ScanRecord>({ ...entry, structured })
  })

const makeRaw = (db: DatabaseService, scanId: string, viewer: Viewer) =>
  Effect.gen(function*() {
    if (!isUlid(scanId)) return yield* scanNotFound(scanId)
    const found = yield* db.use(
      "raw",
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<
          {
            stdout_gz: Uint8Array | null
            stderr_gz: Uint8Array | null
            blob_codec: unknown
            truncated_stdout: unknown
            truncated_stderr: unknown
          }
        >`SELECT stdout_gz, stderr_gz, blob_codec, truncated_stdout, truncated_stderr FROM scans
          WHERE ${sql.and([sql`id = ${scanId}`, ...visible(sql, viewer)])}`
        const row = rows[0]
        if (row === undefined) return Option.none<ScanRaw>()
        const [stdout, stderr] = yield* Effect.all([decompress(row.stdout_gz, row.blob_codec), decompress(row.stderr_gz, row.blob_codec)])
        return Option.some<ScanRaw>({
          scan_id: scanId,
          stdout,
          stderr,
          truncated_stdout: Number(row.truncated_stdout) !== 0,
          truncated_stderr: Number(row.truncated_stderr) !== 0
        })
      })
    )
    return yield* Option.match(found, { onNone: () => Effect.fail(scanNotFound(scanId)), onSome: Effect.succeed })
  })

const finishSql = FINISH_COLUMNS.map((column) => `${column} = excluded.${column}`).join(", ")

export const makeScanStore = (
  db: DatabaseService,
  sweep: Effect.Effect<SweepResult, StoreUnavailable>
): ScanStoreService => {
  const get = (scanId: string, viewer: Viewer) =>
    Effect.gen(function*() {
      if (!isUlid(scanId)) return yield* scanNotFound(scanId)
      const found = yield* db.use("get", selectRecord((sql) => [sql`id = ${scanId}`], viewer))
      return yield* Option.match(found, { onNone: () => Effect.fail(scanNotFound(scanId)), onSome: Effect.succeed })
    })

  const list = (query: ScanQuery, viewer: Viewer) =>
    Effect.flatMap(checkQuery(query), (bounds) => db.use("list", listQuery(query, viewer, bounds)))

  return {
    begin: (start) =>
      timedWrite(db.use(
        "begin",
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const now = yield* Clock.currentTimeMillis
          yield* sql`INSERT INTO scans ${sql.insert(startColumns(start, db.instanceId, now))} ON CONFLICT (id) DO NOTHING`
        })
      )),
    finish: (start, end) =>
      timedWrite(db.use(
        "finish",
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const now = yield* Clock.currentTimeMillis
          const columns = yield* finishedColumns(start, end, db.instanceId, now)
          yield* sql`INSERT INTO scans ${sql.insert(columns)} ON CONFLICT (id) DO UPDATE SET ${sql.literal(finishSql)}`
        })
      )),
    get,
    raw: (scanId, viewer) => makeRaw(db, scanId, viewer),
    list,
    history: (target, viewer, page = {}) => list({ ...page, target }, viewer),
    previous: (scanId, viewer, outcomes = ["succeeded"]) =>
      Effect.gen(function*() {
        if (!isUlid(scanId)) return yield* scanNotFound(scanId)
        const seen = yield* db.use(
          "previous",
          Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql`SELECT id FROM scans WHERE ${sql.and([sql`id = ${scanId}`, ...visible(sql, viewer)])}`)
        )
        if (seen.length === 0) {
          return yield* scanNotFound(scanId)
        }
        if (outcomes.length === 0) {
          return Option.none()
        }
        return yield* db.use(
          "previous",
          selectRecord((sql) => [
            sql`fingerprint = (SELECT fingerprint FROM scans WHERE id = ${scanId})`,
            sql`id < ${scanId}`,
            sql.in("outcome", outcomes)
          ], viewer)
        )
      }),
    sweep
  }
}
