import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { Effect, Queue, type Scope } from "effect"
import type { Caller } from "../identity/Caller.js"
import type { ScanUpdate } from "../storage/ScanRecorder.js"
import type { ScanAccess } from "./scans.js"

/**
 * `resources/subscribe`: the URIs one session watches. Any URI may be
 * watched (a scan the session is about to start, a target's history), up to
 * a bound; the server tells the session `notifications/resources/updated`
 * when a watched scan found more while running (at most about once a second)
 * and when it ended, and when a watched target's history gained a scan.
 */

export const MAX_SUBSCRIPTIONS = 1000
export const MAX_URI_LENGTH = 2048

export interface Subscriptions {
  /** False when the URI is too long or the session watches too many already. */
  readonly add: (uri: string) => boolean
  readonly remove: (uri: string) => void
  /** The watched URIs an update concerns. */
  readonly concerned: (update: ScanUpdate) => ReadonlyArray<string>
}

const historyUris = (target: string) => [`history://${target}`, `history://${encodeURIComponent(target)}`]

export const makeSubscriptions = (): Subscriptions => {
  const watched = new Set<string>()
  return {
    add: (uri) => {
      if (uri.length > MAX_URI_LENGTH || (watched.size >= MAX_SUBSCRIPTIONS && !watched.has(uri))) return false
      watched.add(uri)
      return true
    },
    remove: (uri) => void watched.delete(uri),
    concerned: (update) => {
      const scan = `scan://${update.scan_id}`
      const out = [...watched].filter((uri) =>
        uri === scan || uri.startsWith(`${scan}/`) ||
        (update.state === "finished" && uri.startsWith("diff://") && uri.slice(7).split("/").includes(update.scan_id))
      )
      if (update.state === "finished") {
        for (const uri of [...historyUris(update.target), ...historyUris(update.resolved_target)]) {
          if (watched.has(uri) && !out.includes(uri)) out.push(uri)
        }
      }
      return out
    }
  }
}

const mayWatch = (caller: Caller, update: ScanUpdate) => caller.scopes.has("admin") || caller.id === update.caller_id

/** Tells the session about updates of what it watches, for as long as the scope lasts. */
export const followScanUpdates = (
  server: Server,
  access: ScanAccess,
  subscriptions: Subscriptions,
  caller: () => Caller
): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const updates = yield* access.recorder.updates
    const tell = (uri: string) => Effect.tryPromise(() => server.sendResourceUpdated({ uri })).pipe(Effect.ignore)
    yield* Queue.take(updates).pipe(
      Effect.flatMap((update) =>
        mayWatch(caller(), update) ? Effect.forEach(subscriptions.concerned(update), tell, { discard: true }) : Effect.void
      ),
      Effect.forever,
      Effect.forkScoped
    )
  })
