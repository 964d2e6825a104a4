import { Command, CommandExecutor } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Clock, Duration, Effect, Fiber, Option, Stream } from "effect"
import { type ResourceLimitsUnavailable, SpawnFailed } from "../errors.js"
import { CappedOutput } from "./CappedOutput.js"
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
import { makeReaper, type Reaper } from "./Reaper.js"
import { resolveBinary, SAFE_PATH } from "./resolveBinary.js"

/**
 * Names or absolute paths of util-linux prlimit and setpriv. Where either is
 * missing the runner fails closed (ResourceLimitsUnavailable) unless a request
 * asks for best-effort limits: the limits are a security control, and silently
 * dropping them would hide that from the operator while a tool could exhaust
 * the host.
 */
export interface ProcessRunnerOptions extends WrapperNames {}

interface Termination {
  readonly exitCode: number | null
  readonly signal: string | null
}

const SIGNAL_DESCRIPTION = /^Process interrupted due to receipt of signal: (SIG[A-Z0-9]+)$/

/** After the group is SIGKILLed, output still buffered in the pipes is read for at most this long. */
const DRAIN_AFTER_EXIT = Duration.seconds(5)
/** SIGKILL cannot be caught; this only bounds a wait on a process stuck in the kernel. */
const REAP_AFTER_SIGKILL = Duration.seconds(5)

// Real processes run in real time: the timeout and grace timers must not follow a TestClock.
const liveClock = Clock.make()

const signalGroup = (pid: number, signal: NodeJS.Signals): Effect.Effect<void> =>
  Effect.sync(() => {
    try {
      process.kill(-pid, signal)
    } catch {
      // ESRCH: the group is already gone, which is the goal; EPERM: the id is no longer ours.
    }
  })

// The platform reports death by signal as a SystemError whose description names it.
const awaitTermination = (proc: CommandExecutor.Process): Effect.Effect<Termination> =>
  proc.exitCode.pipe(
    Effect.map((code): Termination => ({ exitCode: code, signal: null })),
    Effect.catchAll((error: PlatformError) => {
      const match = error._tag === "SystemError" ? SIGNAL_DESCRIPTION.exec(error.description ?? "") : null
      return match
        ? Effect.succeed<Termination>({ exitCode: null, signal: match[1]! })
        : Effect.die(error)
    })
  )

/**
 * SIGTERM the group, give it `grace` to exit, then SIGKILL it. Always ends with
 * a group SIGKILL so grandchildren outliving the leader never survive. Safe to
 * run inside a finalizer: the waits are made interruptible so their timeouts fire.
 */
const stopGroup = (proc: CommandExecutor.Process, grace: Duration.Duration): Effect.Effect<void> =>
  Effect.gen(function*() {
    const running = yield* proc.isRunning.pipe(Effect.orElseSucceed(() => true))
    if (running) {
      yield* signalGroup(proc.pid, "SIGTERM")
      const exited = yield* proc.exitCode.pipe(Effect.ignore, Effect.interruptible, Effect.timeout(grace), Effect.option)
      if (Option.isNone(exited)) {
        yield* signalGroup(proc.pid, "SIGKILL")
        yield* proc.exitCode.pipe(Effect.ignore, Effect.interruptible, Effect.timeout(REAP_AFTER_SIGKILL), Effect.ignore)
      }
    }
    yield* signalGroup(proc.pid, "SIGKILL")
  })

const collect = (
  stream: Stream.Stream<Uint8Array, PlatformError>,
  sink: CappedOutput,
  name: "stdout" | "stderr",
  onOutput: RunRequest["onOutput"]
): Effect.Effect<void> => {
  // One streaming decoder per stream keeps multi-byte chars split across reads intact.
  const decoder = new TextDecoder("utf-8")
  return Stream.runForEach(stream, (chunk) => {
    sink.push(chunk)
    return onOutput ? onOutput(name, decoder.decode(chunk, { stream: true })) : Effect.void
  }).pipe(
    Effect.zipRight(
      onOutput ?
        Effect.suspend(() => {
          const rest = decoder.decode()
          return rest.length > 0 ? onOutput(name, rest) : Effect.void
        }) :
        Effect.void
    ),
    // A read error on a pipe ends that stream; what was read so far is kept.
    Effect.catchAll(() => Effect.void)
  )
}

const spawnFailed = (command: string) => (error: PlatformError) => new SpawnFailed({ command, message: error.message })

/** The argv to start, with the notes on what did not hold; fails where a protection is missing and limits are enforced. */
const prepare = (wrappers: Wrappers, request: RunRequest, binary: string) => {
  const missing = missingProtections(wrappers)
  return missing.length > 0 && request.resourceLimits !== "best_effort"
    ? Effect.fail(limitsUnavailable(request.command, missing))
    : Effect.succeed({ argv: wrappedArgv(wrappers, request.limits, binary, request.args), notes: bestEffortNotes(missing) })
}

const run = (
  executor: CommandExecutor.CommandExecutor,
  reaper: Reaper,
  wrappers: Wrappers,
  request: RunRequest
): Effect.Effect<RunResult, SpawnFailed | ResourceLimitsUnavailable> =>
  Effect.scoped(Effect.gen(function*() {
    const binary = yield* resolveBinary(request.command, SAFE_PATH)
    const { argv, notes } = yield* prepare(wrappers, request, binary)
    const grace = Duration.decode(request.killGrace)

    const command = Command.make(argv[0]!, ...argv.slice(1)).pipe(
      // Never the server's environment: it may hold API keys and other secrets.
      Command.env({ PATH: SAFE_PATH, LANG: "C", ...request.env }, { extendEnv: false }),
      // An empty stream ends the child's stdin at once: it must not read ours (the stdio transport).
      Command.stdin(Stream.empty)
    )

    const startedAt = yield* Clock.currentTimeMillis
    const proc = yield* executor.start(command).pipe(Effect.mapError(spawnFailed(request.command)))
    reaper.register(proc.pid)
    // Registered first, so it runs last: after every kill of the group.
    yield* Effect.addFinalizer(() => Effect.sync(() => reaper.unregister(proc.pid)))
    // Runs before the platform's own release, which would SIGTERM and wait forever.
    yield* Effect.addFinalizer(() => stopGroup(proc, grace))

    const stdout = new CappedOutput(request.maxStdoutBytes)
    const stderr = new CappedOutput(request.maxStderrBytes)
    const readers = yield* Effect.fork(
      Effect.all([
        collect(proc.stdout, stdout, "stdout", request.onOutput),
        collect(proc.stderr, stderr, "stderr", request.onOutput)
      ], { concurrency: 2, discard: true })
    )

    const inTime = yield* awaitTermination(proc).pipe(Effect.timeout(request.timeout), Effect.option)
    const termination = Option.isSome(inTime)
      ? inTime.value
      : yield* stopGroup(proc, grace).pipe(Effect.zipRight(awaitTermination(proc)))
    const endedAt = yield* Clock.currentTimeMillis
    yield* signalGroup(proc.pid, "SIGKILL")

    // Only a process that left the group (setsid) can keep the pipes open now.
    yield* Fiber.join(readers).pipe(
      Effect.timeout(DRAIN_AFTER_EXIT),
      Effect.catchAll(() => Fiber.interrupt(readers))
    )

    return {
      argv,
      exitCode: termination.exitCode,
      signal: termination.signal,
      durationMs: endedAt - startedAt,
      stdout: stdout.text(),
      stderr: stderr.text(),
      truncatedStdout: stdout.truncated,
      truncatedStderr: stderr.truncated,
      timedOut: Option.isNone(inTime),
      notes
    } satisfies RunResult
  })).pipe(Effect.withClock(liveClock))

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

/** A ProcessRunner implementation backed by the platform's CommandExecutor. */
export const makeProcessRunner = (options: ProcessRunnerOptions = {}) =>
  Effect.gen(function*() {
    const executor = yield* CommandExecutor.CommandExecutor
    const reaper = yield* makeReaper
    const wrappers = yield* findWrappers(options)
    yield* logProtections(wrappers)
    return { run: (request: RunRequest) => run(executor, reaper, wrappers, request) }
  })
