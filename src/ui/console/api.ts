import type { Approval } from "../../Approval.js"
import type { TimedEvent } from "../../events/Events.js"
import type { ExecutionResult, ToolInfo } from "../../execution/ToolExecutor.js"
import type { AuditPage } from "../../observability/auditSearch.js"
import type { HealthReport } from "../../observability/Health.js"
import type { ScanComparison } from "../../results/compare.js"
import type { ScanPage, ScanRaw, ScanRecord } from "../../storage/ScanRecord.js"
import type { DeadLetterPage, Redelivery, Schedule } from "../../storage/ScheduleRecord.js"
import { parseFrames } from "./sse.js"

/**
 * The REST API as the console calls it. The key is sent as a Bearer header
 * on every call and lives only in this tab's session storage: never in a
 * URL, a cookie or local storage.
 */

const KEY = "security-mcp-server.api-key"

export const storedKey = (): string | null => sessionStorage.getItem(KEY)
export const storeKey = (key: string) => sessionStorage.setItem(KEY, key)
export const forgetKey = () => sessionStorage.removeItem(KEY)

/** A failed call: the status and the server's typed error body (`_tag`, message). */
export class ApiError extends Error {
  constructor(readonly status: number, readonly tag: string, message: string) {
    super(message)
  }
}

const failure = async (response: Response): Promise<ApiError> => {
  const body = await response.json().catch(() => undefined) as { detail?: { _tag?: string; message?: string } } | undefined
  const detail = body?.detail
  return new ApiError(response.status, detail?._tag ?? `HTTP ${response.status}`, detail?.message ?? response.statusText)
}

const call = async <A>(path: string, init: RequestInit = {}, key = storedKey()): Promise<A> => {
  const headers = new Headers(init.headers)
  if (key !== null) headers.set("authorization", `Bearer ${key}`)
  const response = await fetch(path, { ...init, headers, credentials: "omit", cache: "no-store" })
  if (!response.ok) throw await failure(response)
  return await response.json() as A
}

const query = (params: Readonly<Record<string, string | undefined>>) => {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== "") search.set(name, value)
  const text = search.toString()
  return text === "" ? "" : `?${text}`
}

export type ScanFilters = Readonly<
  { q?: string; tool?: string; target?: string; outcome?: string; since?: string; until?: string; caller?: string }
>

/** What `GET /scans/{id}` returns: the execute response body, plus where the scan stands in the store. */
export type StoredExecution =
  & ExecutionResult
  & Pick<ScanRecord, "stored_at" | "outcome" | "parse_status" | "started_at" | "finished_at">
  & { readonly scan_id: string }

export type AuditFilters = Readonly<
  {
    caller?: string
    tool?: string
    target?: string
    decision?: string
    outcome?: string
    from?: string
    to?: string
    q?: string
    limit?: string
  }
>

const post = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body)
})

export const api = {
  /** Checks a key before keeping it: any authenticated route answers 401 for a wrong one. */
  login: (key: string) => call<ReadonlyArray<ToolInfo>>("/tools", {}, key),
  health: async (): Promise<HealthReport> => {
    const response = await fetch("/health", { cache: "no-store" })
    return await response.json() as HealthReport
  },
  tools: () => call<ReadonlyArray<ToolInfo>>("/tools"),
  scans: (filters: ScanFilters & { cursor?: string; limit?: string }) => call<ScanPage>(`/scans${query(filters)}`),
  scan: (id: string) => call<StoredExecution>(`/scans/${encodeURIComponent(id)}`),
  raw: (id: string) => call<ScanRaw>(`/scans/${encodeURIComponent(id)}/raw`),
  diff: (from: string, to: string) => call<ScanComparison>(`/scans/${encodeURIComponent(from)}/diff/${encodeURIComponent(to)}`),
  history: (target: string, cursor?: string) => call<ScanPage>(`/history${query({ target, cursor })}`),
  approvals: (filters: Readonly<{ status?: string; kind?: "call" | "standing" }> = {}) =>
    call<ReadonlyArray<Approval>>(`/approvals${query(filters)}`),
  decide: (id: string, decision: "approve" | "deny", reason: string) =>
    call<Approval>(`/approvals/${encodeURIComponent(id)}/${decision}`, post({ reason })),
  approval: (id: string) => call<Approval>(`/approvals/${encodeURIComponent(id)}`),
  /** Ends an approved standing approval: a run in progress under it stops, its schedule's later runs are skipped. */
  revoke: (id: string, reason: string) => call<Approval>(`/approvals/${encodeURIComponent(id)}/revoke`, post({ reason })),
  /** Whether the key has the admin scope: the one admin route that only reads (`/config`) answers 403 otherwise. */
  isAdmin: () =>
    call<unknown>("/config").then(() => true, (error: unknown) => {
      if (error instanceof ApiError && error.status === 403) return false
      throw error
    }),
  audit: (filters: AuditFilters & { cursor?: string }) => call<AuditPage>(`/audit${query(filters)}`),
  schedules: () => call<ReadonlyArray<Schedule>>("/schedules"),
  createSchedule: (body: Readonly<Record<string, unknown>>) => call<Schedule>("/schedules", post(body)),
  removeSchedule: (id: string) => call<Schedule>(`/schedules/${encodeURIComponent(id)}`, { method: "DELETE" }),
  setScheduleEnabled: (id: string, enabled: boolean) =>
    call<Schedule>(`/schedules/${encodeURIComponent(id)}`, { ...post({ enabled }), method: "PATCH" }),
  deadLetters: (cursor?: string) => call<DeadLetterPage>(`/webhooks/dead-letters${query({ cursor })}`),
  retryDeadLetter: (id: string) => call<Redelivery>(`/webhooks/dead-letters/${encodeURIComponent(id)}/retry`, { method: "POST" })
}

/**
 * `/events` with the key in the Authorization header (EventSource cannot
 * send headers, and a key in the URL would be refused, and logged by
 * proxies): a streamed fetch, read frame by frame until `signal` aborts.
 * Resolves when the stream ends; rejects with the refusal (403 without admin).
 */
export const streamEvents = async (
  onEvent: (event: TimedEvent) => void,
  signal: AbortSignal,
  onOpen: () => void = () => undefined
): Promise<void> => {
  const key = storedKey()
  const response = await fetch("/events", {
    headers: key === null ? {} : { authorization: `Bearer ${key}`, accept: "text/event-stream" },
    credentials: "omit",
    cache: "no-store",
    signal
  })
  if (!response.ok || response.body === null) throw await failure(response)
  onOpen()
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return
    const parsed = parseFrames(buffer + value)
    buffer = parsed.rest
    for (const data of parsed.data) onEvent(JSON.parse(data) as TimedEvent)
  }
}
