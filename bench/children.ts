import { Effect, type Scope } from "effect"
import { type ChildProcess, spawn, type SpawnOptions } from "node:child_process"
import { performance } from "node:perf_hooks"
import { BenchFailed } from "./errors.js"

/**
 * Children of the benchmark. Each long-lived one is a scoped resource, so a
 * failed or interrupted run still stops it: SIGTERM, then SIGKILL after a grace.
 */

const STOP_GRACE_MS = 5000

export const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

export const stopChild = (child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> =>
  new Promise((resolve) => {
    if (hasExited(child)) return resolve()
    const killer = setTimeout(() => child.kill("SIGKILL"), graceMs)
    child.once("exit", () => {
      clearTimeout(killer)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Keeps the last bytes of a stream for error messages while draining it, so the child never blocks on a full pipe. */
export const tail = (stream: NodeJS.ReadableStream | null, limit = 4096) => {
  let text = ""
  stream?.on("data", (chunk: Buffer) => {
    text = (text + chunk.toString("utf8")).slice(-limit)
  })
  return () => text
}

export interface Managed {
  readonly child: ChildProcess
  readonly stderr: () => string
}

export const managed = (
  command: string,
  args: ReadonlyArray<string>,
  options: SpawnOptions
): Effect.Effect<Managed, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(command, [...args], options)
      child.on("error", () => undefined)
      return { child, stderr: tail(child.stderr) }
    }),
    ({ child }) => Effect.promise(() => stopChild(child))
  )

/**
 * Watches one output stream of `child` until `scan`, fed each chunk, returns a
 * value; fails when the child exits first or `timeoutMs` passes, with `explain`
 * saying why.
 */
const watchOutput = <A>(
  child: ChildProcess,
  stream: "stdout" | "stderr",
  scan: (chunk: string) => A | undefined,
  timeoutMs: number,
  step: string,
  explain: { readonly exited: (how: string) => string; readonly late: () => string }
): Effect.Effect<A, BenchFailed> =>
  Effect.async<A, BenchFailed>((resume) => {
    const output = child[stream]
    const detach = () => {
      clearTimeout(timer)
      output?.off("data", onData)
      child.off("exit", onExit)
    }
    const finish = (result: Effect.Effect<A, BenchFailed>) => {
      detach()
      resume(result)
    }
    const onData = (chunk: Buffer) => {
      const found = scan(chunk.toString("utf8"))
      if (found !== undefined) finish(Effect.succeed(found))
    }
    const onExit = (code: number | null, signal: string | null) =>
      finish(Effect.fail(new BenchFailed({ step, message: explain.exited(String(code ?? signal)) })))
    const timer = setTimeout(() => finish(Effect.fail(new BenchFailed({ step, message: explain.late() }))), timeoutMs)
    output?.on("data", onData)
    child.once("exit", onExit)
    return Effect.sync(detach)
  })

/** Resolves with the first stdout line matching `test`; fails when the child exits first or `timeoutMs` passes. */
export const firstLine = (
  child: ChildProcess,
  test: (line: string) => boolean,
  timeoutMs: number,
  step: string
): Effect.Effect<string, BenchFailed> => {
  let buffered = ""
  return watchOutput(
    child,
    "stdout",
    (chunk) => {
      buffered += chunk
      let newline = buffered.indexOf("\n")
      while (newline >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        if (test(line)) return line
        newline = buffered.indexOf("\n")
      }
      return undefined
    },
    timeoutMs,
    step,
    {
      exited: (how) => `child exited (${how}) before the expected line`,
      late: () => `no expected line within ${timeoutMs} ms`
    }
  )
}

/** Like `firstLine` over stderr, for servers that announce their address in a log line. */
export const stderrMatch = (child: ChildProcess, pattern: RegExp, timeoutMs: number, step: string, stderr: () => string) => {
  let seen = ""
  return watchOutput(
    child,
    "stderr",
    (chunk) => {
      seen += chunk
      return seen.match(pattern) ?? undefined
    },
    timeoutMs,
    step,
    {
      exited: (how) => `server exited (${how}): ${stderr()}`,
      late: () => `server not ready within ${timeoutMs} ms: ${stderr()}`
    }
  )
}

export interface Timed {
  readonly ms: number
  readonly code: number | null
  readonly stdoutBytes: number
}

/** Wall time from spawn to exit with all output read, the way a server sees a tool run. */
export const timeProcess = (argv: ReadonlyArray<string>, step: string): Effect.Effect<Timed, BenchFailed> =>
  Effect.async<Timed, BenchFailed>((resume) => {
    const started = performance.now()
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] })
    let stdoutBytes = 0
    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length
    })
    child.stderr.resume()
    child.once("error", (error) => resume(Effect.fail(new BenchFailed({ step, message: String(error) }))))
    child.once("close", (code) => resume(Effect.succeed({ ms: performance.now() - started, code, stdoutBytes })))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
