import { Clock, Context, Duration, Effect, Layer, Option, Queue, Ref, Stream, SubscriptionRef } from "effect"
import { Database } from "./Database.js"
import type { ScanEnd, ScanStart } from "./ScanRecord.js"
import { ScanStore } from "./ScanStore.js"
import { makeUlidGenerator } from "./ulid.js"

/**
 * The scan path's side of the store: `begin` and `finish` only put a job on a
 * bounded queue, and one background fiber writes the jobs in order. So a
 * slow or failing database never delays or fails a scan; when the queue is
 * full the job is dropped, counted and reported by health, and the scan's
 * result is returned all the same.
 */

export type BeginInput = Omit<ScanStart, "scan_id" | "started_at_ms">
export type FinishInput = Omit<ScanEnd, "finished_at_ms">

export interface ScanRecorderService {
  /** Allocates the scan's id (returned at once) and queues its `running` row; none when storage is disabled. */
  readonly begin: (start: BeginInput) => Effect.Effect<Option.Option<string>>
  /** Queues the end of a scan that `begin` started. */
  readonly finish: (scanId: string, end: FinishInput) => Effect.Effect<void>
  /** Completes when every job queued so far has been written (or has failed). */
  readonly flush: Effect.Effect<void>
}

export interface RecorderOptions {
  /** Jobs waiting to be written; more are dropped (default 64). Each may hold a scan's whole output. */
  readonly capacity?: number
  /** At shutdown, how long queued jobs may still be written (default 10 s). */
  readonly drainTimeout?: Duration.DurationInput
}

type Job =
  | { readonly _tag: "Begin"; readonly start: ScanStart }
  | { readonly _tag: "Finish"; readonly start: ScanStart; readonly end: ScanEnd }

export class ScanRecorder extends Context.Tag("security-mcp/ScanRecorder")<ScanRecorder, ScanRecorderService>() {
  static readonly layer = (options: RecorderOptions = {}): Layer.Layer<ScanRecorder, never, Database | ScanStore> =>
    Layer.scoped(ScanRecorder, makeRecorder(options))
}

const disabled: ScanRecorderService = {
  begin: () => Effect.succeedNone,
  finish: () => Effect.void,
  flush: Effect.void
}

const makeRecorder = (options: RecorderOptions) =>
  Effect.gen(function*() {
    const db = yield* Database
    if (!db.enabled) return disabled
    const store = yield* ScanStore
    const capacity = options.capacity ?? 64
    const nextId = yield* makeUlidGenerator
    const queue = yield* Queue.dropping<Job>(capacity)
    // Scans begun and not yet finished: a finish writes the whole row, so it stands even if the begin was dropped.
    const open = yield* Ref.make(new Map<string, ScanStart>())
    const outstanding = yield* SubscriptionRef.make(0)

    const write = (job: Job) =>
      (job._tag === "Begin" ? store.begin(job.start) : store.finish(job.start, job.end)).pipe(
        // Already counted, logged and reported by the database; nothing more to do for this scan.
        Effect.catchTag("StoreUnavailable", () => Effect.void),
        Effect.catchAllCause((cause) => Effect.logError(`store: writing scan ${job.start.scan_id} crashed`, cause)),
        Effect.ensuring(SubscriptionRef.update(outstanding, (n) => n - 1))
      )
    yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.take(queue), write)))

    const enqueue = (job: Job) =>
      Effect.gen(function*() {
        yield* SubscriptionRef.update(outstanding, (n) => n + 1)
        if (yield* Queue.offer(queue, job)) return
        yield* SubscriptionRef.update(outstanding, (n) => n - 1)
        yield* db.reportFailure(
          "queue_full",
          `the write queue is full (${capacity} scans waiting): scan ${job.start.scan_id} (${job._tag.toLowerCase()}) was not stored; the database is too slow or failing`
        )
      })

    const flush = outstanding.changes.pipe(Stream.takeUntil((n) => n <= 0), Stream.runDrain)
    yield* Effect.addFinalizer(() =>
      flush.pipe(
        Effect.timeout(options.drainTimeout ?? Duration.seconds(10)),
        Effect.catchAll(() => Effect.logWarning("store: shutting down with scans still waiting to be written"))
      )
    )

    return {
      begin: (input) =>
        Effect.gen(function*() {
          const start: ScanStart = { ...input, scan_id: yield* nextId, started_at_ms: yield* Clock.currentTimeMillis }
          yield* Ref.update(open, (m) => new Map(m).set(start.scan_id, start))
          yield* enqueue({ _tag: "Begin", start })
          return Option.some(start.scan_id)
        }),
      finish: (scanId, input) =>
        Effect.gen(function*() {
          const start = yield* Ref.modify(open, (m) => {
            const found = m.get(scanId)
            const rest = new Map(m)
            rest.delete(scanId)
            return [found, rest]
          })
          if (start === undefined) return yield* Effect.logWarning(`store: finish of unknown or finished scan ${scanId} ignored`)
          yield* enqueue({ _tag: "Finish", start, end: { ...input, finished_at_ms: yield* Clock.currentTimeMillis } })
        }),
      flush
    } satisfies ScanRecorderService
  })
