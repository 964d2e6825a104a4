import { Effect, Option, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import type { Socket } from "node:net"
import { SpawnFailed } from "../errors.js"

/**
 * The process that starts every tool, and the watchdog that takes the tools'
 * process groups down when the server dies without cleaning up (SIGKILL, the
 * OOM killer), which no finalizer survives.
 *
 * Forking is the largest fixed cost of a tool call when the forking process
 * is the server: the kernel copies the page tables of its whole heap on every
 * spawn (2–4 ms of blocked event loop at 100–180 MB), and every page the
 * server writes afterwards takes a copy-on-write fault. A small helper with no
 * dependencies forks instead. It is a child of the server on a Node IPC
 * channel: it spawns each tool detached (its own session and process group)
 * and hands the tool's stdout and stderr pipes to the server as they are,
 * unread, so the server reads the tool's output directly (nothing is
 * relayed). When a tool's leader exits, the helper SIGKILLs the rest of its
 * group at once (the runner did the same after every exit), then reports the
 * exit; so the only groups it holds are those of running leaders. When the
 * channel closes or the server is gone, it SIGKILLs every one of them and
 * exits. A helper that does not confirm a start in time is taken for stuck:
 * it is killed and the next tool gets a new one.
 *
 * The helper is the tools' parent, so `setpriv --pdeathsig KILL` fires when
 * the helper dies; if it does, the server kills the groups of the calls in
 * flight itself and says so in their notes. The helper leads its own session
 * and ignores SIGINT/SIGTERM, so signals aimed at the server's group (Ctrl-C)
 * cannot take it out first. It starts with the first tool and leaves after
 * `idleMs` with no tool running: an idle server has no helper process.
 */
/** How often the helper checks that the server is still there (see the end of `helperSource`). */
const WATCH_MS = 100

export const helperSource = `"use strict"
const { spawn } = require("node:child_process")
const groups = new Set()
process.on("SIGINT", () => {})
process.on("SIGTERM", () => {})
const send = (message, handle) => {
  try { process.send(message, handle) } catch {}
}
const killGroup = (pid) => {
  try { process.kill(-pid, "SIGKILL") } catch {}
}
const start = (id, argv, env) => {
  let child
  try {
    child = spawn(argv[0], argv.slice(1), { detached: true, env, stdio: ["ignore", "pipe", "pipe"] })
  } catch (error) {
    return send({ t: "failed", id, message: String(error && error.message) })
  }
  if (child.pid === undefined) {
    child.stdout && child.stdout.destroy()
    child.stderr && child.stderr.destroy()
    return child.once("error", (error) => send({ t: "failed", id, message: String(error && error.message) }))
  }
  const pid = child.pid
  // Nothing has been read yet (reads happen on the next turn of the loop): the pipes go to the server untouched.
  // Out of child.stdio, Node does not resume them when the child exits, which would read what the server must get.
  const { stdout, stderr } = child
  if (!stdout._handle || typeof stdout._handle.readStop !== "function" || !stderr._handle) {
    killGroup(pid)
    return send({ t: "failed", id, message: "this Node cannot hand a child's pipes over unread (no readStop on the pipe handle)" })
  }
  stdout._handle.readStop()
  stderr._handle.readStop()
  child.stdio[1] = null
  child.stdio[2] = null
  groups.add(pid)
  child.on("error", () => {})
  child.once("exit", (code, signal) => {
    groups.delete(pid)
    killGroup(pid)
    send({ t: "exit", id, code, signal })
  })
  send({ t: "out", id, pid }, stdout)
  send({ t: "err", id }, stderr)
}
process.on("message", (m) => {
  if (m.t === "spawn") start(m.id, m.argv, m.env)
})
const leave = () => {
  for (const pid of groups) killGroup(pid)
  process.exit(0)
}
process.on("disconnect", leave)
// Node emits "disconnect" only once no pipe it sent waits for the server's acknowledgement: a server killed while
// one does would leave its tools running. Its end is also seen here, whatever the channel's state.
const parent = process.ppid
setInterval(() => {
  if (!process.connected || process.ppid !== parent) leave()
}, ${WATCH_MS}).unref()
`

/** How the leader of a tool's process group ended. */
export interface Termination {
  readonly exitCode: number | null
  readonly signal: string | null
  /** The helper died while the tool ran: the exit status is unknown; the server killed the group. */
  readonly spawnerLost: boolean
}

export interface Spawned {
  /** The tool's pid, which is also its process group id. */
  readonly pid: number
  readonly stdout: Socket
  readonly stderr: Socket
  /**
   * Waits for the leader's exit, at most `ms` (real time): None when it is
   * still running then. When the leader has exited, the rest of its group has
   * already been SIGKILLed.
   */
  readonly exitWithin: (ms: number) => Effect.Effect<Option.Option<Termination>>
  readonly hasExited: () => boolean
  /** Stops tracking the run; call it once the group has been dealt with. */
  readonly release: () => void
}

export interface Spawner {
  /**
   * Starts `argv` (argv[0] an absolute path) with exactly `env`, stdin on
   * /dev/null, in a new session and process group; tracked until `release`.
   * Interrupted while waiting for the start, the tool is killed as soon as it
   * has started.
   */
  readonly spawn: (
    argv: ReadonlyArray<string>,
    env: Readonly<Record<string, string>>
  ) => Effect.Effect<Spawned, SpawnFailed>
}

export interface SpawnerOptions {
  /** How long the helper stays after the last tool ended (default 10 s). */
  readonly spawnerIdleMs?: number
  /** How long a start may wait for the helper's confirmation before the helper is taken for stuck and replaced (default 10 s). */
  readonly spawnerStartMs?: number
}

type Reply =
  | { readonly t: "out"; readonly id: number; readonly pid: number }
  | { readonly t: "err"; readonly id: number }
  | { readonly t: "failed"; readonly id: number; readonly message: string }
  | { readonly t: "exit"; readonly id: number; readonly code: number | null; readonly signal: string | null }

interface Helper {
  readonly child: ChildProcess
  alive: boolean
}

/** One run as the client sees it, from the request to the end of its scope. */
interface Run {
  readonly helper: Helper
  pid?: number
  stdout?: Socket
  stderr?: Socket
  termination?: Termination
  /** Called once with the started process, or with why it did not start. */
  onStarted?: (result: Spawned | string) => void
  /** Fails the start if the helper does not confirm it in time. */
  startTimer?: NodeJS.Timeout
  readonly onExit: Set<(termination: Termination) => void>
  /** The caller stopped waiting before the tool started: kill it as soon as it does. */
  abandoned: boolean
}

const DEFAULT_IDLE_MS = 10_000
/** A start takes milliseconds; a helper that has not confirmed one in this long is stopped or its loop is blocked. */
const DEFAULT_START_MS = 10_000
/** setTimeout's limit; a longer wait is a wait for the exit with no deadline. */
const MAX_TIMER_MS = 2 ** 31 - 1

export const killGroup = (pid: number, signal: NodeJS.Signals = "SIGKILL"): void => {
  // ESRCH (the group is gone, which is the goal) is common: no stack trace for it.
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    process.kill(-pid, signal)
  } catch {
    // ESRCH: already gone; EPERM: the id is no longer ours.
  } finally {
    Error.stackTraceLimit = limit
  }
}

const exitWithin = (run: Run) => (ms: number): Effect.Effect<Option.Option<Termination>> =>
  Effect.async<Option.Option<Termination>>((resume) => {
    if (run.termination !== undefined) return resume(Effect.succeed(Option.some(run.termination)))
    const listener = (termination: Termination) => {
      clearTimeout(timer)
      resume(Effect.succeed(Option.some(termination)))
    }
    const timer = ms > MAX_TIMER_MS ? undefined : setTimeout(() => {
      run.onExit.delete(listener)
      resume(Effect.succeed(Option.none()))
    }, ms)
    run.onExit.add(listener)
    return Effect.sync(() => {
      clearTimeout(timer)
      run.onExit.delete(listener)
    })
  })

/** The client: one helper at a time, started on demand and let go when idle. */
class SpawnerClient {
  private helper: Helper | undefined
  private readonly runs = new Map<number, Run>()
  private nextId = 1
  private idleTimer: NodeJS.Timeout | undefined

  constructor(private readonly idleMs: number, private readonly startMs: number) {}

  private startHelper(): Helper {
    const child = spawn(process.execPath, ["-e", helperSource], {
      detached: true,
      stdio: ["ignore", "ignore", "ignore", "ipc"],
      env: {}
    })
    const helper: Helper = { child, alive: true }
    child.on("message", (message: Reply, handle: unknown) => this.onReply(message, handle as Socket | undefined))
    child.on("error", () => this.onHelperGone(helper))
    child.on("exit", () => this.onHelperGone(helper))
    // Neither the helper nor its channel may keep the server alive while no tool runs.
    child.unref()
    return helper
  }

  private onReply(message: Reply, handle: Socket | undefined): void {
    const run = this.runs.get(message.id)
    if (run === undefined) {
      handle?.destroy()
      return
    }
    switch (message.t) {
      case "out":
        run.pid = message.pid
        run.stdout = handle
        break
      case "err":
        run.stderr = handle
        break
      case "failed":
        this.settleStart(run, message.message)
        this.forget(message.id)
        return
      case "exit":
        this.terminate(run, { exitCode: message.code, signal: message.signal, spawnerLost: false })
        return
    }
    if (run.pid === undefined || run.stdout === undefined || run.stderr === undefined || run.onStarted === undefined) return
    if (run.abandoned) {
      killGroup(run.pid)
      run.stdout.destroy()
      run.stderr.destroy()
      this.forget(message.id)
      return
    }
    const id = message.id
    this.settleStart(run, {
      pid: run.pid,
      stdout: run.stdout,
      stderr: run.stderr,
      exitWithin: exitWithin(run),
      hasExited: () => run.termination !== undefined,
      release: () => this.forget(id)
    })
  }

  private settleStart(run: Run, result: Spawned | string): void {
    clearTimeout(run.startTimer)
    const notify = run.onStarted
    run.onStarted = undefined
    notify?.(result)
  }

  /**
   * The helper did not confirm a start in time: that start fails, and the
   * helper is killed, which ends every run it held (see onHelperGone); the
   * next tool gets a new one.
   */
  private startOverdue(id: number): void {
    const run = this.runs.get(id)
    if (run?.onStarted === undefined) return
    // Its pipe came but not the other: the tool runs, and once forgotten no one else would take its group down.
    if (run.pid !== undefined) killGroup(run.pid)
    run.stdout?.destroy()
    run.stderr?.destroy()
    this.settleStart(run, `the process spawner did not start the tool within ${this.startMs} ms; it was replaced`)
    this.forget(id)
    // The next tool must not go to it while its exit is still on the way.
    if (this.helper === run.helper) this.helper = undefined
    run.helper.child.kill("SIGKILL")
  }

  private terminate(run: Run, termination: Termination): void {
    if (run.termination !== undefined) return
    run.termination = termination
    for (const listener of run.onExit) listener(termination)
    run.onExit.clear()
  }

  /** The helper exited or could not start: every run it held is over. */
  private onHelperGone(helper: Helper): void {
    if (!helper.alive) return
    helper.alive = false
    if (this.helper === helper) this.helper = undefined
    for (const [id, run] of this.runs) {
      if (run.helper !== helper) continue
      if (run.pid !== undefined) killGroup(run.pid)
      if (run.onStarted !== undefined) {
        run.stdout?.destroy()
        run.stderr?.destroy()
        this.settleStart(run, "the process spawner exited before the tool started")
        this.forget(id)
      } else {
        this.terminate(run, { exitCode: null, signal: "SIGKILL", spawnerLost: true })
      }
    }
  }

  /** With no run left, the helper goes after the idle period. */
  forget(id: number): void {
    const run = this.runs.get(id)
    if (run === undefined) return
    this.runs.delete(id)
    if (this.runs.size === 0) {
      this.helper?.child.channel?.unref()
      this.idleTimer = setTimeout(() => this.release(), this.idleMs)
      this.idleTimer.unref()
    }
  }

  /**
   * Lets the helper go: closing its channel makes it kill any group it still
   * holds and exit. Only when idle, unless `always` (the runner shuts down).
   */
  release(always = false): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    const helper = this.helper
    if (helper === undefined || (this.runs.size > 0 && !always)) return
    this.helper = undefined
    if (helper.child.connected) helper.child.disconnect()
  }

  /** Sends a spawn request; `onStarted` gets the spawned process or the failure exactly once. */
  request(argv: ReadonlyArray<string>, env: Readonly<Record<string, string>>, onStarted: Run["onStarted"]): number {
    clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    const helper = this.helper ?? (this.helper = this.startHelper())
    const id = this.nextId++
    const startTimer = setTimeout(() => this.startOverdue(id), this.startMs)
    startTimer.unref()
    this.runs.set(id, { helper, onStarted, startTimer, onExit: new Set(), abandoned: false })
    // A tool is starting: the channel keeps the process alive until the runs are over.
    helper.child.channel?.ref()
    helper.child.send({ t: "spawn", id, argv, env }, (error) => {
      if (error !== null && error !== undefined) this.onHelperGone(helper)
    })
    return id
  }

  abandon(id: number): void {
    const run = this.runs.get(id)
    if (run !== undefined) run.abandoned = true
  }
}

const spawnWith = (client: SpawnerClient) => (argv: ReadonlyArray<string>, env: Readonly<Record<string, string>>) =>
  Effect.async<Spawned, SpawnFailed>((resume) => {
    let settled = false
    const id = client.request(argv, env, (result) => {
      settled = true
      resume(typeof result === "string" ? Effect.fail(new SpawnFailed({ command: argv[0]!, message: result })) : Effect.succeed(result))
    })
    return Effect.sync(() => {
      if (!settled) client.abandon(id)
    })
  })

/** A spawner for the lifetime of the scope; closing it lets the helper go. */
export const makeSpawner = (options: SpawnerOptions = {}): Effect.Effect<Spawner, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => new SpawnerClient(options.spawnerIdleMs ?? DEFAULT_IDLE_MS, options.spawnerStartMs ?? DEFAULT_START_MS)),
      (client) => Effect.sync(() => client.release(true))
    ),
    (client): Spawner => ({ spawn: spawnWith(client) })
  )
