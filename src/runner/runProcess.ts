import { Clock, Duration, Effect, Option, Runtime } from "effect"
import type { Socket } from "node:net"
import * as Path from "node:path"
import { ResourceLimitsUnavailable, SpawnFailed } from "../errors.js"
import { CappedOutput, utf8Decoder } from "./CappedOutput.js"
import { wrappedArgv } from "./prlimit.js"
import type { RunRequest, RunResult } from "./ProcessRunner.js"
import {
  bestEffortNotes,
  findWrappers,
  fixFor,
  limitsUnavailable,
  missingProtections,
  protectionReport,
  type WrapperNames,
  type Wrappers
} from "./protections.js"
import { isExecutableFile, resolveBinary, SAFE_PATH } from "./resolveBinary.js"
import { killGroup, makeSpawner, type Spawned, type Spawner, type SpawnerOptions } from "./Spawner.js"

/**
 * Names or absolute paths of util-linux prlimit and setpriv. Where either is
 * missing the runner fails closed (ResourceLimitsUnavailable) unless a request
 * asks for best-effort limits: the limits are a security control, and silently
 * dropping them would hide that from the operator while a tool could exhaust
 * the host.
 */
export interface ProcessRunnerOptions extends WrapperNames, SpawnerOptions {}

/** After the group is SIGKILLed, output still buffered in the pipes is read for at most this long. */
const DRAIN_AFTER_EXIT_MS = 5000
/** SIGKILL cannot be caught; this only bounds a wait on a process stuck in the kernel. */
const REAP_AFTER_SIGKILL_MS = 5000

const SPAWNER_LOST = "the process spawner died while the tool ran: its process group was killed and its exit status is unknown"

// Real processes run in real time: the timeout and grace timers must not follow a TestClock.
const liveClock = Clock.make()

/**
 * SIGTERM the group, give it `graceMs` to exit, then SIGKILL it. Once the
 * leader has exited, the spawner has SIGKILLed the rest of the group, so
 * grandchildren outliving the leader never survive; the last SIGKILL covers
 * a leader that never exited. Safe in a finalizer: each wait ends on its own
 * timer, so none needs to be interruptible (which, in an interrupted fiber,
 * would end the whole sequence at the first wait).
 */
const stopGroup = (proc: Spawned, graceMs: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    if (proc.hasExited()) return
    killGroup(proc.pid, "SIGTERM")
    if (Option.isSome(yield* proc.exitWithin(graceMs))) return
    killGroup(proc.pid, "SIGKILL")
    yield* proc.exitWithin(REAP_AFTER_SIGKILL_MS)
    killGroup(proc.pid, "SIGKILL")
  })

/** Both pipes of a run read to their end into capped buffers, without a fiber per stream. */
interface Collector {
  readonly stdout: CappedOutput
  readonly stderr: CappedOutput
  /** Waits until both pipes have ended, at most `ms`; then stops reading them. */
  readonly drained: (ms: number) => Effect.Effect<void>
}

/**
 * Output is handed over in batches: what arrived within this many
 * milliseconds, as soon as this many bytes wait, and the rest at once at the
 * pipe's end. nmap writes its report 4 KiB at a time, so a /24 scan is
 * hundreds of reads; a fiber, the progress observers and a parser step for
 * each cost more than the parsing itself.
 */
const BATCH_MS = 2
const BATCH_BYTES = 64 * 1024

/**
 * Reads one pipe to its end into `sink`, then calls `onEnd`. With `onOutput`,
 * the output is handed over decoded, in order and in batches (see
 * `handOver`). A read error ends the stream; what was read is kept.
 */
const readPipe = (
  socket: Socket,
  sink: CappedOutput,
  name: "stdout" | "stderr",
  onOutput: RunRequest["onOutput"],
  runtime: Runtime.Runtime<never>,
  onEnd: () => void
): void => {
  const handed = onOutput === undefined ? undefined : handOver(socket, name, onOutput, runtime, onEnd)
  socket.on("data", (chunk: Buffer) => {
    sink.push(chunk)
    handed?.add(chunk)
  })
  let ended = false
  const end = () => {
    if (ended) return
    ended = true
    if (handed === undefined) onEnd()
    else handed.end()
  }
  socket.on("error", () => undefined)
  // An empty pipe can reach its end before anyone listens (the socket reads from the moment it arrives).
  if (socket.readableEnded || socket.destroyed) end()
  socket.once("end", end)
  socket.once("close", end)
}

/**
 * One pipe's output given to `onOutput` in batches (see `BATCH_MS`), decoded
 * by one streaming decoder (multi-byte chars split across reads stay
 * intact); `end` hands over the rest, then calls `onEnd`. While a callback
 * waits, the pipe is paused.
 */
const handOver = (
  socket: Socket,
  name: "stdout" | "stderr",
  onOutput: NonNullable<RunRequest["onOutput"]>,
  runtime: Runtime.Runtime<never>,
  onEnd: () => void
) => {
  const decoder = utf8Decoder()
  let waiting: Array<Buffer> = []
  let waitingBytes = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  let running = false
  let ended = false
  let settled = false
  const hand = (text: string, then: () => void) => {
    if (text.length === 0) return then()
    running = true
    let paused = false
    Runtime.runCallback(runtime)(onOutput(name, text), {
      onExit: () => {
        running = false
        if (paused) socket.resume()
        then()
      }
    })
    // A callback that completed at once needs no pause.
    if (running) {
      paused = true
      socket.pause()
    }
  }
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (running) return
    if (waiting.length > 0) {
      const bytes = waiting.length === 1 ? waiting[0]! : Buffer.concat(waiting, waitingBytes)
      waiting = []
      waitingBytes = 0
      return hand(decoder.write(bytes), next)
    }
    if (!ended || settled) return
    settled = true
    hand(decoder.end(), onEnd)
  }
  const next = () => {
    if (ended || waitingBytes >= BATCH_BYTES) flush()
    else if (waiting.length > 0) timer ??= setTimeout(flush, BATCH_MS)
  }
  return {
    add: (chunk: Buffer) => {
      waiting.push(chunk)
      waitingBytes += chunk.length
      if (!running) next()
    },
    end: () => {
      ended = true
      flush()
    }
  }
}

const collect = (proc: Spawned, request: RunRequest, runtime: Runtime.Runtime<never>): Collector => {
  const stdout = new CappedOutput(request.maxStdoutBytes)
  const stderr = new CappedOutput(request.maxStderrBytes)
  let open = 2
  let onDrained: (() => void) | undefined
  const ended = () => {
    if (--open === 0) onDrained?.()
  }
  readPipe(proc.stdout, stdout, "stdout", request.onOutput, runtime, ended)
  readPipe(proc.stderr, stderr, "stderr", request.onOutput, runtime, ended)
  const stop = () => {
    proc.stdout.destroy()
    proc.stderr.destroy()
  }
  const drained = (ms: number) =>
    Effect.async<void>((resume) => {
      if (open === 0) return resume(Effect.void)
      const timer = setTimeout(() => {
        onDrained = undefined
        stop()
        resume(Effect.void)
      }, ms)
      onDrained = () => {
        clearTimeout(timer)
        resume(Effect.void)
      }
      return Effect.sync(() => {
        clearTimeout(timer)
        onDrained = undefined
        stop()
      })
    })
  return { stdout, stderr, drained }
}

/** The per-call check of the registry's absolute path; names are looked up in SAFE_PATH. */
const checkBinary = (command: string): Effect.Effect<string, SpawnFailed> =>
  Path.isAbsolute(command) && isExecutableFile(command)
    ? Effect.succeed(command)
    : resolveBinary(command, SAFE_PATH)

/** The argv to start, with the notes on what did not hold; the error where a protection is missing and limits are enforced. */
const prepare = (wrappers: Wrappers, request: RunRequest, binary: string) => {
  const missing = missingProtections(wrappers)
  return missing.length > 0 && request.resourceLimits !== "best_effort"
    ? limitsUnavailable(request.command, missing)
    : { argv: wrappedArgv(wrappers, request.limits, binary, request.args), notes: bestEffortNotes(missing) }
}

/** A started process to its end: exit or timeout, then its output drained. */
const supervise = (proc: Spawned, request: RunRequest, argv: ReadonlyArray<string>, notes: ReadonlyArray<string>, graceMs: number) =>
  Effect.gen(function*() {
    const startedAt = yield* Clock.currentTimeMillis
    const output = collect(proc, request, yield* Effect.runtime<never>())
    const inTime = yield* proc.exitWithin(Duration.toMillis(request.timeout))
    const termination = Option.isSome(inTime)
      ? inTime.value
      : yield* stopGroup(proc, graceMs).pipe(Effect.zipRight(proc.exitWithin(Infinity)), Effect.map(Option.getOrThrow))
    const endedAt = yield* Clock.currentTimeMillis
    if (termination.spawnerLost) killGroup(proc.pid)

    // Only a process that left the group (setsid) can keep the pipes open now.
    yield* output.drained(DRAIN_AFTER_EXIT_MS)

    return {
      argv,
      exitCode: termination.exitCode,
      signal: termination.signal,
      durationMs: endedAt - startedAt,
      stdout: output.stdout.text(),
      stderr: output.stderr.text(),
      truncatedStdout: output.stdout.truncated,
      truncatedStderr: output.stderr.truncated,
      timedOut: Option.isNone(inTime),
      notes: termination.spawnerLost ? [...notes, SPAWNER_LOST] : notes
    } satisfies RunResult
  })

const run = (
  spawner: Spawner,
  wrappers: Wrappers,
  request: RunRequest
): Effect.Effect<RunResult, SpawnFailed | ResourceLimitsUnavailable> =>
  Effect.flatMap(checkBinary(request.command), (binary): Effect.Effect<RunResult, SpawnFailed | ResourceLimitsUnavailable> => {
    const prepared = prepare(wrappers, request, binary)
    if (prepared instanceof ResourceLimitsUnavailable) return Effect.fail(prepared)
    const { argv, notes } = prepared
    const graceMs = Duration.toMillis(request.killGrace)
    // Never the server's environment: it may hold API keys and other secrets. The spawner closes stdin (/dev/null).
    const env = { PATH: SAFE_PATH, LANG: "C", ...request.env }
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(
        restore(spawner.spawn(argv, env)).pipe(
          Effect.mapError((error) => new SpawnFailed({ command: request.command, message: error.message }))
        ),
        // Whatever ends the run (its end, a timeout, interruption), the group is stopped before the spawner forgets it.
        (proc) =>
          restore(supervise(proc, request, argv, notes, graceMs)).pipe(
            Effect.ensuring(Effect.zipRight(stopGroup(proc, graceMs), Effect.sync(() => proc.release())))
          )
      )
    )
  }).pipe(Effect.withClock(liveClock))

/** Says once, when the runner starts, which protections tool processes get on this host. */
const logProtections = (wrappers: Wrappers): Effect.Effect<void> => {
  const report = protectionReport(wrappers)
  const held = report.filter((line) => line.held).map((line) => line.text)
  const lacking = report.filter((line) => !line.held).map((line) => line.text)
  const missing = missingProtections(wrappers)
  return lacking.length === 0
    ? Effect.logInfo(`tool processes are protected by: ${held.join("; ")}`)
    : Effect.logWarning(
      `tool processes lack: ${lacking.join("; ")}. They keep: ${held.join("; ")}` +
        (missing.length === 0 ? "" : (
          ". Unless security.resource_limits is best_effort, every tool call fails with ResourceLimitsUnavailable; " +
          `with best_effort each result says what did not hold. Fix: ${fixFor(missing)}`
        ))
    )
}

/** A ProcessRunner whose tools are started by the spawner helper (see Spawner.ts). */
export const makeProcessRunner = (options: ProcessRunnerOptions = {}) =>
  Effect.gen(function*() {
    const spawner = yield* makeSpawner(options)
    const wrappers = yield* findWrappers(options)
    yield* logProtections(wrappers)
    return { run: (request: RunRequest) => run(spawner, wrappers, request) }
  })
