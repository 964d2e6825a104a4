import { Clock, Context, Duration, Effect, Layer, Option, PubSub, Queue, Ref, type Scope, Stream, SubscriptionRef } from "effect"
import { Database } from "./Database.js"
import { type Pending, pendingRaw, pendingRecord, pendingVisible } from "./pending.js"
import type { ScanEnd, ScanStart } from "./ScanRecord.js"
import { ScanStore, type ScanStoreService } from "./ScanStore.js"
import { isUlid, makeUlidGenerator } from "./ulid.js"

/**
 * The scan path's side of the store: `begin` and `finish` only put a job on a
 * bounded queue, and one background fiber writes the jobs in order. So a
 * slow or failing database never delays or fails a scan; when the queue is
 * full the job is dropped, counted and reported by health, and the scan's
 * result is returned all the same. Until its job is written, a scan is read
 * from memory (the layer's `ScanStore` looks there first), and what a
 * running scan has found so far is kept here for readers and watchers.
 */

export type BeginInput = Omit<ScanStart, "scan_id" | "started_at_ms">
export type FinishInput = Omit<ScanEnd, "finished_at_ms">

/** What a running scan's stream parser has counted so far. */
export interface LiveProgress {
  readonly hosts_seen: number
  readonly hosts_up: number
  readonly open_ports: number
  /** The tool's own completion estimate, 0..100, when it gives one. */
  readonly percent?: number
}

/** A scan changed: it found more while running, or its end has been written (or could not be). */
export interface ScanUpdate {
  readonly scan_id: string
  readonly caller_id: string
  readonly target: string
  readonly resolved_target: string
  readonly state: "running" | "finished"
}

export interface ScanRecorderService {
  /** A fresh scan id to give `begin` later (a task names its scan before the call is planned); none when storage is disabled. */
  readonly newId: Effect.Effect<Option.Option<string>>
  /** Queues the scan's `running` row under `scanId` (or a new id) and returns the id at once; none when storage is disabled. */
  readonly begin: (start: BeginInput, scanId?: string) => Effect.Effect<Option.Option<string>>
  /** Records what a running scan found so far (kept in memory, told to watchers). */
  readonly progress: (scanId: string, progress: LiveProgress) => Effect.Effect<void>
  /** What a running scan of this server found so far; none once it ended or when it never reported. */
  readonly live: (scanId: string) => Effect.Effect<Option.Option<LiveProgress>>
  /** Queues the end of a scan that `begin` started. */
  readonly finish: (scanId: string, end: FinishInput) => Effect.Effect<void>
  /** Every update from now on, until the scope closes. */
  readonly updates: Effect.Effect<Queue.Dequeue<ScanUpdate>, never, Scope.Scope>
  /** Completes when every job queued so far has been written (or has failed). */
  readonly flush: Effect.Effect<void>
}

export interface RecorderOptions {
  /**
   * Jobs waiting in the queue; more are dropped (default 64). Each may hold a scan's whole output. The batch
   * being written, taken from the queue at once, holds up to as many again.
   */
  readonly capacity?: number
  /** At shutdown, how long queued jobs may still be written (default 10 s). */
  readonly drainTimeout?: Duration.DurationInput
}

export type Job =
  | { readonly _tag: "Begin"; readonly start: ScanStart }
  | { readonly _tag: "Finish"; readonly start: ScanStart; readonly end: ScanEnd }

export class ScanRecorder extends Context.Tag("security-mcp/ScanRecorder")<ScanRecorder, ScanRecorderService>() {
  /** The recorder, and the store it writes to as readers should use it: jobs still queued are read from memory. */
  static readonly layer = (
    options: RecorderOptions = {}
  ): Layer.Layer<ScanRecorder | ScanStore, never, Database | ScanStore> =>
    Layer.scopedContext(Effect.gen(function*() {
      const { recorder, store } = yield* makeRecorder(options)
      return Context.make(ScanRecorder, recorder).pipe(Context.add(ScanStore, store))
    }))
}

const disabled: ScanRecorderService = {
  newId: Effect.succeedNone,
  begin: () => Effect.succeedNone,
  progress: () => Effect.void,
  live: () => Effect.succeedNone,
  finish: () => Effect.void,
  updates: Effect.flatMap(PubSub.unbounded<ScanUpdate>(), PubSub.subscribe),
  flush: Effect.void
}

const updateOf = (start: ScanStart, state: ScanUpdate["state"]): ScanUpdate => ({
  scan_id: start.scan_id,
  caller_id: start.caller_id,
  target: start.target,
  resolved_target: start.resolved_target,
  state
})

/** `store` with the scans whose writes are still queued read from `pending` first. */
const readThrough = (store: ScanStoreService, pending: Map<string, Pending>): ScanStoreService => {
  const find = (scanId: string, viewer: Parameters<ScanStoreService["get"]>[1]) => {
    const found = pending.get(scanId)
    return found !== undefined && pendingVisible(found, viewer) ? found : undefined
  }
  return {
    ...store,
    get: (scanId, viewer) => {
      const found = find(scanId, viewer)
      return found === undefined ? store.get(scanId, viewer) : Effect.map(Clock.currentTimeMillis, (now) => pendingRecord(found, now))
    },
    raw: (scanId, viewer) => {
      const found = find(scanId, viewer)
      return found === undefined ? store.raw(scanId, viewer) : Effect.succeed(pendingRaw(found))
    }
  }
}

/** Scans begun and not yet finished, with what they found so far. */
interface Open {
  readonly start: ScanStart
  readonly progress?: LiveProgress
}

/**
 * How long the writer lets jobs gather before it writes them. A finish is
 * queued while its caller is still answering (serialising the result,
 * megabytes for a /24, and writing it run on this same thread), and a short
 * call's begin is still on the spawn's critical path: both wait, and a call
 * that ends within the window is written once, whole, instead of as a
 * `running` row then its end. Nothing is lost by waiting: a queued scan is
 * read from memory, `flush` and the shutdown drain wait for it. A real timer,
 * not the Clock: it orders work on this thread and measures nothing.
 */
const GATHER_MS = 10

const gathered = Effect.async<void>((resume) => {
  const timer = setTimeout(() => resume(Effect.void), GATHER_MS)
  return Effect.sync(() => clearTimeout(timer))
})

/** The jobs to write, in order: a begin whose finish is in the same batch is left out (the finish writes the whole row). */
export const coalesced = (jobs: ReadonlyArray<Job>): { readonly write: ReadonlyArray<Job>; readonly skip: ReadonlyArray<Job> } => {
  const finished = new Set(jobs.filter((job) => job._tag === "Finish").map((job) => job.start.scan_id))
  const write: Array<Job> = []
  const skip: Array<Job> = []
  for (const job of jobs) (job._tag === "Begin" && finished.has(job.start.scan_id) ? skip : write).push(job)
  return { write, skip }
}

/** Takes what is queued once it has gathered, and writes it in order; `done` settles each job, written or left out. */
const writeBatch = (store: ScanStoreService, queue: Queue.Dequeue<Job>, done: (job: Job) => Effect.Effect<void>) =>
  Effect.gen(function*() {
    const first = yield* Queue.take(queue)
    yield* gathered
    const jobs = coalesced([first, ...(yield* Queue.takeAll(queue))])
    yield* Effect.forEach(jobs.skip, done, { discard: true })
    for (const job of jobs.write) {
      yield* (job._tag === "Begin" ? store.begin(job.start) : store.finish(job.start, job.end)).pipe(
        // Already counted, logged and reported by the database; nothing more to do for this scan.
        Effect.catchTag("StoreUnavailable", () => Effect.void),
        Effect.catchAllCause((cause) => Effect.logError(`store: writing scan ${job.start.scan_id} crashed`, cause)),
        Effect.ensuring(done(job))
      )
    }
  })

const makeRecorder = (options: RecorderOptions) =>
  Effect.gen(function*() {
    const db = yield* Database
    const store = yield* ScanStore
    if (!db.enabled) return { recorder: disabled, store }
    const capacity = options.capacity ?? 64
    const nextId = yield* makeUlidGenerator
    const queue = yield* Queue.dropping<Job>(capacity)
    const hub = yield* PubSub.sliding<ScanUpdate>(1024)
    // A finish writes the whole row, so it stands even if the begin was dropped.
    const open = yield* Ref.make(new Map<string, Open>())
    // Written by the fiber only; read synchronously by `readThrough`.
    const pending = new Map<string, Pending>()
    const outstanding = yield* SubscriptionRef.make(0)

    const written = (job: Job) =>
      Effect.gen(function*() {
        if (job._tag === "Finish" || pending.get(job.start.scan_id)?.end === undefined) pending.delete(job.start.scan_id)
        if (job._tag === "Finish") yield* PubSub.publish(hub, updateOf(job.start, "finished"))
      })

    const done = (job: Job) => Effect.zipRight(written(job), SubscriptionRef.update(outstanding, (n) => n - 1))
    yield* Effect.forkScoped(Effect.forever(writeBatch(store, queue, done)))

    const enqueue = (job: Job) =>
      Effect.gen(function*() {
        yield* SubscriptionRef.update(outstanding, (n) => n + 1)
        pending.set(job.start.scan_id, job._tag === "Begin" ? { start: job.start } : { start: job.start, end: job.end })
        if (yield* Queue.offer(queue, job)) return
        if (job._tag === "Finish") yield* written(job)
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

    const begin = (input: BeginInput, scanId?: string) =>
      Effect.gen(function*() {
        const id = scanId !== undefined && isUlid(scanId) ? scanId : yield* nextId
        const start: ScanStart = { ...input, scan_id: id, started_at_ms: yield* Clock.currentTimeMillis }
        yield* Ref.update(open, (m) => new Map(m).set(id, { start }))
        yield* enqueue({ _tag: "Begin", start })
        return Option.some(id)
      })

    const progress = (scanId: string, found: LiveProgress) =>
      Effect.flatMap(
        Ref.modify(open, (m) => {
          const entry = m.get(scanId)
          return entry === undefined ? [undefined, m] : [entry.start, new Map(m).set(scanId, { ...entry, progress: found })]
        }),
        (start) => (start === undefined ? Effect.void : PubSub.publish(hub, updateOf(start, "running")))
      )

    const finish = (scanId: string, input: FinishInput) =>
      Effect.gen(function*() {
        const entry = yield* Ref.modify(open, (m) => {
          const rest = new Map(m)
          rest.delete(scanId)
          return [m.get(scanId), rest]
        })
        if (entry === undefined) return yield* Effect.logWarning(`store: finish of unknown or finished scan ${scanId} ignored`)
        yield* enqueue({ _tag: "Finish", start: entry.start, end: { ...input, finished_at_ms: yield* Clock.currentTimeMillis } })
      })

    const recorder: ScanRecorderService = {
      newId: Effect.map(nextId, Option.some),
      begin,
      progress,
      live: (scanId) => Effect.map(Ref.get(open), (m) => Option.fromNullable(m.get(scanId)?.progress)),
      finish,
      updates: PubSub.subscribe(hub),
      flush
    }
    return { recorder, store: readThrough(store, pending) }
  })
