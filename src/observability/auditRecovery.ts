import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { createInterface } from "node:readline"

/**
 * Finding executions that started but never finished: the `started` lines of
 * an audit log with no later line of the same execution id. After a SIGKILL
 * or an OOM kill, nothing else says that a scan was running.
 */

/** The fields of a `started` line needed to report it as interrupted. */
export interface StartedLine {
  readonly timestamp: string
  readonly caller_id: string
  readonly caller_transport: "stdio" | "http" | "mcp-http"
  readonly caller_address: string | null
  readonly tool: string
  readonly target: string
  readonly resolved_target: string | null
  readonly argv: ReadonlyArray<string>
  readonly intrusive: boolean
  readonly correlation_id: string
  readonly execution_id: string
  /** Absent from lines written before engagements existed. */
  readonly engagement?: string | null
  readonly engagement_hash?: string | null
  readonly approval_id?: string | null
  readonly requested_by?: string | null
  readonly decided_by?: string | null
}

const isStarted = (value: unknown): value is StartedLine =>
  typeof value === "object" && value !== null && (value as { outcome?: unknown }).outcome === "started" &&
  typeof (value as { execution_id?: unknown }).execution_id === "string" && Array.isArray((value as { argv?: unknown }).argv)

/** Feeds lines in file order; `unfinished` lists the started executions no later line closed, oldest first. */
export const startedTracker = () => {
  const open = new Map<string, StartedLine>()
  return {
    add: (line: string) => {
      // Only lines that carry an execution id can open or close one; most lines are skipped unparsed.
      if (!line.includes("\"execution_id\":\"")) return
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch {
        return
      }
      const id = (value as { execution_id?: unknown }).execution_id
      if (typeof id !== "string") return
      if (isStarted(value)) open.set(id, value)
      else open.delete(id)
    },
    unfinished: (): ReadonlyArray<StartedLine> => [...open.values()]
  }
}

/** The file's size now, 0 when it does not exist: what a later scan may read without seeing new lines. */
export const fileSize = (path: string): Promise<number> => stat(path).then((info) => info.size, () => 0)

/** Scans the first `upTo` bytes of an audit log, one line at a time in bounded memory. */
export const unfinishedExecutions = async (path: string, upTo: number): Promise<ReadonlyArray<StartedLine>> => {
  const tracker = startedTracker()
  if (upTo <= 0) return []
  const lines = createInterface({ input: createReadStream(path, { start: 0, end: upTo - 1 }), crlfDelay: Infinity })
  for await (const line of lines) tracker.add(line)
  return tracker.unfinished()
}
