import { Deferred, Effect, Exit, Fiber, Metric, Queue, Ref, type Scope } from "effect"
import { type FileHandle, mkdir, open, stat } from "node:fs/promises"
import { dirname } from "node:path"
import { AuditUnavailable } from "../errors.js"

/**
 * The audit log's single writer. Callers put whole lines on a bounded queue
 * (a full queue makes them wait: memory stays bounded however many requests
 * arrive) and wait for their line; one fiber takes whatever is queued, up to
 * `maxBatch` lines, and commits it with one write and, when any line in it
 * must be durable, one fsync (group commit). Lines reach the file in queue
 * order, and a durable line's caller resumes only after the fsync. A batch
 * of lines nobody waits for may wait `linger` for more: one client's calls,
 * each arriving after the last one's answer, then share a write instead of
 * each costing one; a line somebody waits for ends the wait.
 *
 * A batch is all or nothing: every write's byte count is checked, and when
 * a write (disk full, I/O error) or the fsync fails, the file is truncated
 * back to its size before the batch, so it never ends in a partial line, and
 * every caller in the batch gets `AuditUnavailable`.
 *
 * The file is reopened when the configured path changes, when its inode is
 * no longer the one open (logrotate renamed or deleted it), and on SIGHUP.
 * One writer per file: two processes appending to one file could have each
 * other's lines truncated on a failure.
 */

export interface AuditWriterOptions {
  /** The file to write, read before every batch so a configuration reload moves the log. */
  readonly path: Effect.Effect<string>
  readonly capacity?: number
  readonly maxBatch?: number
  /**
   * Milliseconds a batch made only of `enqueue`d lines waits for more before
   * it is written (default 0: at once). A line somebody waits for (`append`,
   * `flush`) and closing end the wait, so only lines whose callers go on
   * without them are later by it.
   */
  readonly linger?: number
  /** Reopen the file on this signal (default SIGHUP); `null` to not listen. */
  readonly reopenSignal?: NodeJS.Signals | null
  /** Where the lines nobody waits for (`enqueue`) go when their batch cannot be written; by default they are dropped. */
  readonly unwritten?: (text: string) => Effect.Effect<void>
}

export interface AuditWriterStatus {
  readonly path: string | null
  /** Why the last batch failed; `null` once a batch succeeds again. */
  readonly lastError: string | null
  readonly failedBatches: number
  readonly linesWritten: number
  /** Batches committed (one write each) and, of them, those fsync'ed: far fewer than lines under load. */
  readonly batches: number
  readonly syncs: number
  /** Times the file was opened (start-up, path change, rotation, signal). */
  readonly opens: number
}

export interface AuditWriter {
  /** Queues `line` (newline included) and waits until it is in the file, and fsync'ed when `durable`. */
  readonly append: (line: string, durable: boolean) => Effect.Effect<void, AuditUnavailable>
  /**
   * Queues `line` (newline included) without waiting for it to be written: it
   * joins the next batch. For lines whose caller's outcome does not depend on
   * them, so a flood of them costs one write per batch, not a wait per line.
   */
  readonly enqueue: (line: string) => Effect.Effect<void>
  /** `enqueue` without an effect, when it would not wait: false, having queued nothing, while the queue is full or closed. */
  readonly enqueueNow: (line: string) => boolean
  /** Waits until every line queued before it has been written, or handed to `unwritten`. */
  readonly flush: Effect.Effect<void>
  /** Reopens the file before the next batch. */
  readonly reopen: Effect.Effect<void>
  readonly status: Effect.Effect<AuditWriterStatus>
}

export const auditFailures = Metric.counter("mcp_audit_failures_total", {
  description: "Audit log batches that could not be written, by reason (errno code)",
  incremental: true
})

interface Pending {
  readonly line: string
  readonly durable: boolean
  /** Absent for a line nobody waits for. */
  readonly done: Deferred.Deferred<void, AuditUnavailable> | undefined
}

const STOP = Symbol("stop")

interface OpenFile {
  readonly path: string
  readonly handle: FileHandle
  readonly device: number
  readonly inode: number
}

const errorCode = (error: unknown): string =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string" ? error.code : "EIO"

/**
 * The size of the file behind `path` while it is still the open one; undefined
 * once it is renamed away, deleted or replaced. The same inode is the same
 * file, so its size is the open file's: one stat serves both questions.
 */
const sizeUnlessMoved = (file: OpenFile): Promise<number | undefined> =>
  stat(file.path).then((info) => info.dev === file.device && info.ino === file.inode ? info.size : undefined, () => undefined)

/** Writes all of `bytes`, checking every write's count: a write that makes no progress is an error. */
const writeFully = async (handle: FileHandle, bytes: Buffer): Promise<void> => {
  for (let offset = 0; offset < bytes.length;) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset)
    if (bytesWritten <= 0) throw Object.assign(new Error("short write: no bytes written"), { code: "ESHORTWRITE" })
    offset += bytesWritten
  }
}

/** The file state, owned by the writer fiber alone. */
const makeFile = () => {
  let file: OpenFile | null = null
  let reopenRequested = false
  let opens = 0

  const close = async () => {
    const current = file
    file = null
    await current?.handle.close().catch(() => undefined)
  }

  /** The file to write at `path`, reopened when it has to be, and its size before the batch. */
  const current = async (path: string): Promise<{ readonly handle: FileHandle; readonly size: number }> => {
    if (file !== null && file.path === path && !reopenRequested) {
      const size = await sizeUnlessMoved(file)
      if (size !== undefined) return { handle: file.handle, size }
    }
    await close()
    reopenRequested = false
    await mkdir(dirname(path), { recursive: true })
    const handle = await open(path, "a", 0o600)
    const info = await handle.stat()
    opens++
    file = { path, handle, device: info.dev, inode: info.ino }
    return { handle, size: info.size }
  }

  /** One batch: all of it, or (truncated back) none of it. */
  const commit = async (path: string, bytes: Buffer, durable: boolean): Promise<void> => {
    const { handle, size: before } = await current(path)
    try {
      await writeFully(handle, bytes)
      if (durable) await handle.datasync()
    } catch (error) {
      await handle.truncate(before).catch(() => undefined)
      await close()
      throw error
    }
  }

  return {
    commit,
    close,
    requestReopen: () => {
      reopenRequested = true
    },
    opens: () => opens
  }
}

type Status = Omit<AuditWriterStatus, "opens">

/** Commits one batch and settles every caller in it: all succeed, or all get `AuditUnavailable`. */
const batchWriter = (
  pathOf: Effect.Effect<string>,
  file: ReturnType<typeof makeFile>,
  status: Ref.Ref<Status>,
  unwritten: (text: string) => Effect.Effect<void>
) =>
(batch: ReadonlyArray<Pending>) =>
  Effect.gen(function*() {
    const path = yield* pathOf
    const bytes = Buffer.from(batch.map((p) => p.line).join(""), "utf8")
    const durable = batch.some((p) => p.durable)
    const result = yield* Effect.exit(Effect.tryPromise({ try: () => file.commit(path, bytes, durable), catch: (error) => error }))
    if (Exit.isSuccess(result)) {
      yield* Ref.update(status, (s) => ({
        ...s,
        path,
        lastError: null,
        linesWritten: s.linesWritten + batch.filter((p) => p.line !== "").length,
        batches: s.batches + 1,
        syncs: s.syncs + (durable ? 1 : 0)
      }))
      for (const p of batch) if (p.done !== undefined) Deferred.unsafeDone(p.done, Exit.void)
      return
    }
    const cause = result.cause._tag === "Fail" ? result.cause.error : result.cause
    const reason = errorCode(cause)
    const message = `audit log write to ${path} failed (${reason}): ${cause instanceof Error ? cause.message : String(cause)}`
    yield* Ref.update(status, (s) => ({ ...s, path, lastError: message, failedBatches: s.failedBatches + 1 }))
    yield* Metric.increment(Metric.tagged(auditFailures, "reason", reason))
    yield* Effect.logError(message).pipe(Effect.annotateLogs({ lines: batch.length }))
    const error = new AuditUnavailable({ path, message })
    for (const p of batch) if (p.done !== undefined) Deferred.unsafeDone(p.done, Exit.fail(error))
    const orphans = batch.filter((p) => p.done === undefined)
    if (orphans.length > 0) yield* unwritten(orphans.map((p) => p.line).join(""))
  })

/**
 * The wait of a batch that lingers: up to `ms`, ended early by `hurry`. A
 * hurry while no batch waits makes the next wait none, so a line somebody
 * waits for, queued between the batch's take and its wait, is not kept
 * waiting. A timer, not the Clock, as the application log's batches
 * (AuditLog.ts): the wait is a real delay of the file, not part of any
 * outcome, and a test's clock must not hold lines back.
 */
const makeLinger = (ms: number) => {
  let hurried = false
  let cut: (() => void) | undefined
  return {
    /** Forgets earlier hurries: called before a batch is taken, whose lines then include theirs. */
    reset: () => {
      hurried = false
    },
    hurry: () => {
      hurried = true
      cut?.()
    },
    wait: Effect.async<void>((resume) => {
      if (hurried) return resume(Effect.void)
      const timer = setTimeout(() => cut?.(), ms)
      cut = () => {
        cut = undefined
        clearTimeout(timer)
        resume(Effect.void)
      }
      return Effect.sync(() => {
        cut = undefined
        clearTimeout(timer)
      })
    })
  }
}

/** Asks for a reopen whenever the process gets `signal`, for as long as the scope lasts. */
const reopenOn = (signal: NodeJS.Signals, requestReopen: () => void) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const listener = () => requestReopen()
      process.on(signal, listener)
      return listener
    }),
    (listener) => Effect.sync(() => process.off(signal, listener))
  )

export const makeAuditWriter = (options: AuditWriterOptions): Effect.Effect<AuditWriter, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.bounded<Pending | typeof STOP>(options.capacity ?? 8192)
    const maxBatch = options.maxBatch ?? 1024
    const lingerMs = options.linger ?? 0
    const linger = makeLinger(lingerMs)
    /** A batch lingers when every line in it is one nobody waits for, and there is room for more. */
    const lingers = (items: ReadonlyArray<Pending | typeof STOP>) =>
      lingerMs > 0 && items.length < maxBatch && items.every((p) => p !== STOP && p.done === undefined)
    const file = makeFile()
    // Read without an effect by `enqueueNow`; set once, by the finalizer.
    let closed = false
    const status = yield* Ref.make<Status>({
      path: null,
      lastError: null,
      failedBatches: 0,
      linesWritten: 0,
      batches: 0,
      syncs: 0
    })

    const unwritten = options.unwritten ?? (() => Effect.void)
    const writeBatch = batchWriter(options.path, file, status, unwritten)

    /** Takes what is queued, writes it, and stops after the STOP marker the finalizer queues. */
    const writer = Effect.gen(function*() {
      for (;;) {
        linger.reset()
        const all: Array<Pending | typeof STOP> = [...yield* Queue.takeBetween(queue, 1, maxBatch)]
        if (lingers(all)) {
          yield* linger.wait
          for (const item of yield* Queue.takeUpTo(queue, maxBatch - all.length)) all.push(item)
        }
        const stop = all.indexOf(STOP)
        const batch = (stop < 0 ? all : all.slice(0, stop)) as ReadonlyArray<Pending>
        if (batch.length > 0) yield* writeBatch(batch)
        if (stop >= 0) return
      }
    })
    const fiber = yield* Effect.forkScoped(writer)

    if (options.reopenSignal !== null) yield* reopenOn(options.reopenSignal ?? "SIGHUP", file.requestReopen)

    // Lines already queued are written before the file is closed.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        closed = true
        yield* Queue.offer(queue, STOP)
        linger.hurry()
        yield* Fiber.await(fiber).pipe(Effect.timeout("10 seconds"), Effect.ignore)
        const late = new AuditUnavailable({ path: "", message: "the audit log closed before this line was written" })
        for (const item of yield* Queue.takeAll(queue)) {
          if (item === STOP) continue
          if (item.done === undefined) yield* unwritten(item.line)
          else yield* Deferred.fail(item.done, late)
        }
        yield* Queue.shutdown(queue)
        yield* Effect.promise(() => file.close())
      })
    )

    const append = (line: string, durable: boolean) =>
      Effect.gen(function*() {
        if (closed) {
          return yield* new AuditUnavailable({ path: "", message: "the audit log is closed (the server is stopping)" })
        }
        const done = yield* Deferred.make<void, AuditUnavailable>()
        yield* Queue.offer(queue, { line, durable, done })
        linger.hurry()
        return yield* Deferred.await(done)
      }).pipe(Effect.uninterruptible)

    const enqueue = (line: string) =>
      Effect.suspend(() => closed ? unwritten(line) : Queue.offer(queue, { line, durable: false, done: undefined }).pipe(Effect.asVoid))

    return {
      append,
      enqueue,
      enqueueNow: (line) => !closed && Queue.unsafeOffer(queue, { line, durable: false, done: undefined }),
      // An empty line waits for its batch, which holds or follows every line queued before it.
      flush: Effect.ignore(append("", false)),
      reopen: Effect.sync(() => file.requestReopen()),
      status: Effect.map(Ref.get(status), (s) => ({ ...s, opens: file.opens() }))
    }
  })
