import type { ReadResourceResult, Resource, ResourceTemplate, Task } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Option } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { ExecutionResult } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { type ReportSources, reportSources } from "../reports/gather.js"
import { compareScans, DIFFABLE_TOOLS, nmapResultOf } from "../results/compare.js"
import { Database } from "../storage/Database.js"
import { executionBody, type ScanRaw, type ScanRecord, viewerOf } from "../storage/ScanRecord.js"
import { ScanRecorder, type ScanRecorderService } from "../storage/ScanRecorder.js"
import { ScanStore, type ScanStoreService } from "../storage/ScanStore.js"
import { isUlid } from "../storage/ulid.js"
import { hostAddress } from "../tools/nmap/result.js"
import { internalError, invalidParams, type ResourceEnv, type ResourceError, type ResourceProvider } from "./resources.js"
import type { DurableTasks } from "./TaskStore.js"
import { executionToolResult } from "./toolResult.js"

/**
 * The scan store as MCP clients see it: resources for stored scans, their
 * raw output and hosts, a target's history and the diff of two scans. It is
 * there whenever the storage services are (both programs provide them) and
 * storage is enabled; a server built without them has none of it.
 */
export interface ScanAccess {
  readonly store: ScanStoreService
  readonly recorder: ScanRecorderService
  readonly summaryTokens: Effect.Effect<number>
  /** The store, approvals and engagements as reports read them. */
  readonly reports: ReportSources
}

export const scanAccess: Effect.Effect<Option.Option<ScanAccess>, never, ConfigService> = Effect.gen(function*() {
  const db = yield* Effect.serviceOption(Database)
  const store = yield* Effect.serviceOption(ScanStore)
  const recorder = yield* Effect.serviceOption(ScanRecorder)
  const config = yield* ConfigService
  if (Option.isNone(db) || !db.value.enabled || Option.isNone(store) || Option.isNone(recorder)) return Option.none()
  return Option.some({
    store: store.value,
    recorder: recorder.value,
    summaryTokens: Effect.map(config.get, (c) => c.results.summary_tokens),
    reports: yield* reportSources(store.value, config)
  })
})

const ID = "([0-7][0-9A-HJKMNP-TV-Z]{25})"
const SCAN = new RegExp(`^scan://${ID}$`)
const RAW = new RegExp(`^scan://${ID}/raw$`)
const HOST = new RegExp(`^scan://${ID}/hosts/(.+)$`)
const HISTORY = /^history:\/\/(.+)$/
const DIFF = new RegExp(`^diff://${ID}/${ID}$`)

const decoded = (text: string) => {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}

/** A stored scan as its execute response (what the call returned), for task results read back from the store. */
export const storedResult = (record: ScanRecord, raw: ScanRaw): ExecutionResult => {
  const { finished_at: _f, outcome: _o, parse_status: _p, started_at: _s, stored_at: _t, ...result } = executionBody(record, raw)
  return result as ExecutionResult
}

export const scanTemplates: ReadonlyArray<ResourceTemplate> = [
  {
    uriTemplate: "scan://{id}",
    name: "scan",
    title: "Stored scan",
    description: "A stored scan: its record with the whole structured result (JSON), and its summary (text)",
    mimeType: "application/json"
  },
  { uriTemplate: "scan://{id}/raw", name: "scan-raw", title: "Raw output of a stored scan", description: "stdout, then stderr" },
  {
    uriTemplate: "scan://{id}/hosts/{address}",
    name: "scan-host",
    title: "One host of a stored scan",
    description: "Everything an nmap or masscan scan reported about one address",
    mimeType: "application/json"
  },
  {
    uriTemplate: "history://{target}",
    name: "history",
    title: "Scans of a target",
    description: "The stored scans of one target (as sent or the pinned address), newest first",
    mimeType: "application/json"
  },
  {
    uriTemplate: "diff://{a}/{b}",
    name: "diff",
    title: "Diff of two scans",
    description: "What changed from scan a to scan b (nmap or masscan): hosts, ports, services, scripts",
    mimeType: "application/json"
  }
]

const PAGE = 50

const firstLine = (text: string) => {
  const line = text.split("\n", 1)[0] ?? ""
  return line.length <= 200 ? line : `${line.slice(0, 199)}…`
}

const json = (uri: string, value: unknown) => ({ uri, mimeType: "application/json", text: JSON.stringify(value) })
const text = (uri: string, body: string, mimeType = "text/plain") => ({ uri, mimeType, text: body })

/** Store failures as JSON-RPC errors; a scan this caller may not read is simply not there. */
export const asResource = <A, E extends { readonly _tag: string; readonly message: string }>(
  effect: Effect.Effect<A, E>
): Effect.Effect<Option.Option<A>, ResourceError> =>
  effect.pipe(
    Effect.map(Option.some),
    Effect.catchAll((error) =>
      error._tag === "ScanNotFound"
        ? Effect.succeed(Option.none())
        : error._tag === "InvalidInput"
        ? Effect.fail(invalidParams(error.message))
        : Effect.fail(internalError(error.message))
    )
  )

const readScan = (access: ScanAccess, uri: string, id: string, caller: Caller) =>
  Effect.gen(function*() {
    const record = yield* access.store.get(id, viewerOf(caller))
    const progress = record.outcome === "running" ? yield* access.recorder.live(id) : Option.none()
    const body = { ...record, ...(Option.isSome(progress) ? { progress: progress.value } : {}) }
    return { contents: [json(uri, body), text(uri, record.summary === "" ? `${record.tool} ${record.outcome}` : record.summary)] }
  })

const readRaw = (access: ScanAccess, uri: string, id: string, caller: Caller) =>
  Effect.map(access.store.raw(id, viewerOf(caller)), (raw) => ({
    contents: [
      text(uri, raw.stdout, raw.stdout.trimStart().startsWith("<") ? "application/xml" : "text/plain"),
      ...(raw.stderr === "" ? [] : [text(uri, raw.stderr)])
    ]
  }))

const readHost = (access: ScanAccess, uri: string, id: string, address: string, caller: Caller) =>
  Effect.gen(function*() {
    const record = yield* access.store.get(id, viewerOf(caller))
    if (!DIFFABLE_TOOLS.has(record.tool)) return Option.none()
    const run = yield* Effect.option(nmapResultOf(record))
    const host = Option.flatMap(run, (r) => Option.fromNullable(r.hosts.find((h) => hostAddress(h) === address)))
    return Option.map(host, (h) => ({ contents: [json(uri, { scan_id: id, host: h })] }))
  })

const readHistory = (access: ScanAccess, uri: string, target: string, caller: Caller) =>
  Effect.map(access.store.history(target, viewerOf(caller), { limit: PAGE }), (page) => ({
    contents: [
      json(uri, page),
      text(uri, page.scans.map((s) => `${s.scan_id} ${s.started_at} ${s.tool} ${s.outcome}: ${firstLine(s.summary)}`).join("\n"))
    ]
  }))

const readDiff = (access: ScanAccess, uri: string, a: string, b: string, caller: Caller) =>
  Effect.flatMap(access.summaryTokens, (tokens) =>
    Effect.map(compareScans(access.store, a, b, viewerOf(caller), tokens), (comparison) => ({
      contents: [json(uri, comparison), text(uri, comparison.summary)]
    })))

/** Which reader a URI is for, if any. */
const route = (access: ScanAccess, uri: string, caller: Caller) => {
  const scan = SCAN.exec(uri)
  if (scan) return Effect.map(readScan(access, uri, scan[1]!, caller), Option.some)
  const raw = RAW.exec(uri)
  if (raw) return Effect.map(readRaw(access, uri, raw[1]!, caller), Option.some)
  const host = HOST.exec(uri)
  if (host) return readHost(access, uri, host[1]!, decoded(host[2]!), caller)
  const diff = DIFF.exec(uri)
  if (diff) return Effect.map(readDiff(access, uri, diff[1]!, diff[2]!, caller), Option.some)
  const history = HISTORY.exec(uri)
  if (history) return Effect.map(readHistory(access, uri, decoded(history[1]!), caller), Option.some)
  return undefined
}

const listed = (scan: ScanRecord | Omit<ScanRecord, "structured">): Resource => ({
  uri: `scan://${scan.scan_id}`,
  name: `scan-${scan.scan_id}`,
  title: `${scan.tool} ${scan.target} (${scan.outcome}, ${scan.started_at})`,
  description: scan.summary === "" ? `${scan.tool} ${scan.outcome}` : firstLine(scan.summary),
  mimeType: "application/json"
})

/** The provider of the scan resources: recent scans visible to the caller, newest first, a page at a time. */
export const scanResources = (access: ScanAccess): ResourceProvider => ({
  templates: scanTemplates,
  list: (env: ResourceEnv, cursor?: string) =>
    access.store.list({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) }, viewerOf(env.context.caller)).pipe(
      Effect.map((page) => ({
        resources: page.scans.map(listed),
        ...(page.next_cursor === null ? {} : { nextCursor: page.next_cursor })
      })),
      // A store that is down hides the scans, not the rest of the list (reads of a scan say why).
      Effect.catchAll((error) =>
        error._tag === "InvalidInput"
          ? Effect.fail(invalidParams(`Invalid cursor: ${cursor}`))
          : Effect.as(Effect.logWarning(`resources/list without stored scans: ${error.message}`), { resources: [] })
      )
    ),
  read: (uri: string, env: ResourceEnv): Effect.Effect<Option.Option<ReadResourceResult>, ResourceError> => {
    const reader = route(access, uri, env.context.caller)
    return reader === undefined ? Effect.succeed(Option.none()) : Effect.map(asResource(reader), Option.flatten)
  }
})

const taskStatus = (outcome: ScanRecord["outcome"]): Task["status"] => {
  switch (outcome) {
    case "running":
      return "working"
    case "succeeded":
      return "completed"
    case "cancelled":
      return "cancelled"
    default:
      return "failed"
  }
}

/**
 * Tasks read back from the store: a task's id is its scan's id, so once its
 * session is gone (closed, or the server restarted) `tasks/get` and
 * `tasks/result` still answer, for the caller the scan belongs to.
 */
export const durableTasks = (
  access: ScanAccess,
  caller: () => Caller,
  run: <A>(effect: Effect.Effect<A>) => Promise<A>,
  pollIntervalMs: number
): DurableTasks => ({
  get: (taskId) =>
    isUlid(taskId)
      ? run(
        Effect.suspend(() => {
          const viewer = viewerOf(caller())
          return Effect.all([access.store.get(taskId, viewer), access.store.raw(taskId, viewer)])
        }).pipe(
          Effect.map(([record, raw]) => {
            const status = taskStatus(record.outcome)
            const task: Task = {
              taskId,
              status,
              ttl: null,
              createdAt: record.started_at,
              lastUpdatedAt: record.stored_at,
              pollInterval: pollIntervalMs,
              statusMessage: firstLine(record.error ?? (record.summary === "" ? `${record.tool} ${record.outcome}` : record.summary))
            }
            const ended = status === "completed" || status === "failed"
            return ended ? { task, result: executionToolResult(storedResult(record, raw)) } : { task }
          }),
          Effect.orElseSucceed(() => undefined)
        )
      )
      : Promise.resolve(undefined)
})
