import type { Caller } from "../identity/Caller.js"

/**
 * Rejections before a call is heard out — past its client's rate limit, or
 * an HTTP request without a valid key or without the scope its route needs —
 * counted instead of written one by one: a flood would otherwise cost an
 * audit line (and its write) per call.
 * Each client's counts become one line per interval (`RejectionsLine`), so
 * every decision is still accounted for: the counts by tool and by reason
 * each add up to the line's `count`. Memory stays bounded: tools are
 * registered names or `unknown`, reasons are error tags, and past
 * `maxClients` clients in one interval the rest share one entry.
 */

export interface OverLimit {
  readonly caller: Pick<Caller, "id" | "transport" | "address">
  /** A registered tool name, or `unknown` (never a made-up name). */
  readonly tool: string
  /** The error tag the call was refused with. */
  readonly reason: string
}

export interface Tally {
  readonly caller: OverLimit["caller"]
  readonly count: number
  readonly byTool: Readonly<Record<string, number>>
  readonly byReason: Readonly<Record<string, number>>
  /** Monotonic milliseconds of the first and last rejection counted. */
  readonly first: number
  readonly last: number
}

/** The caller id of the entry that clients past `maxClients` share. */
export const OTHER_CLIENTS = "(other clients)"

/** The caller id of requests refused for a missing, malformed or unknown key: counted by address. */
export const NO_VALID_KEY = "(no valid key)"

const bump = (counts: Readonly<Record<string, number>>, key: string): Readonly<Record<string, number>> => {
  const next: Record<string, number> = Object.create(null)
  Object.assign(next, counts)
  next[key] = (next[key] ?? 0) + 1
  return next
}

export interface RejectionTallies {
  readonly add: (rejection: OverLimit, now: number) => void
  /** The tallies since the last take, oldest client first; empties them. */
  readonly take: () => ReadonlyArray<Tally>
}

export const makeRejectionTallies = (maxClients = 10_000): RejectionTallies => {
  let tallies = new Map<string, Tally>()
  return {
    add: ({ caller, reason, tool }, now) => {
      // A key used from two addresses, and requests without a key, are told apart by address.
      const client = `${caller.id}\u0000${caller.address ?? ""}`
      const key = tallies.has(client) || tallies.size < maxClients ? client : OTHER_CLIENTS
      const who = key === OTHER_CLIENTS ? { id: OTHER_CLIENTS, transport: caller.transport } : caller
      const previous = tallies.get(key) ?? { caller: who, count: 0, byTool: {}, byReason: {}, first: now, last: now }
      tallies.set(key, {
        ...previous,
        count: previous.count + 1,
        byTool: bump(previous.byTool, tool),
        byReason: bump(previous.byReason, reason),
        last: now
      })
    },
    take: () => {
      const taken = [...tallies.values()]
      tallies = new Map()
      return taken
    }
  }
}
