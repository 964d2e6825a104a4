import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { createServer, type Server, type Socket } from "node:net"
import { join } from "node:path"
import { privateStorageEnv } from "../../support/storage.js"

/**
 * Helpers for tests that run the built server (dist/server.js) as a real
 * child process. Every child and listener is registered so `cleanup` (run in
 * afterAll/afterEach) kills or closes it even when a test fails midway.
 */

export const serverPath = join(import.meta.dirname, "../../../dist/server.js")

/** Fails with instructions instead of a confusing spawn error when the bundle was never built. */
export const requireBuild = (): string => {
  if (!existsSync(serverPath)) {
    throw new Error(`${serverPath} does not exist: run \`npm run build\` first (\`npm test\` builds it before testing)`)
  }
  return serverPath
}

const children = new Set<ChildProcess>()
const listeners = new Set<Server>()
/** Connections the silent listeners hold open; destroyed at cleanup so closing the listeners does not wait for them. */
const held = new Set<Socket>()

/**
 * A minimal environment: the test runner's own MCP_* variables must not leak
 * into the server, and every target stays on loopback.
 */
export const serverEnv = (extra: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  PATH: process.env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin",
  HOME: process.env["HOME"] ?? "/tmp",
  MCP_SECURITY_ALLOWED_TARGETS: "loopback",
  LOG_LEVEL: "INFO",
  ...privateStorageEnv(),
  ...extra
})

export interface Spawned {
  readonly child: ChildProcess
  /** Everything the server wrote to stderr so far (its log). */
  readonly stderr: () => string
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>
}

export const spawnServer = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = serverEnv()): Spawned => {
  const child = spawn(process.execPath, [requireBuild(), ...args], { env, stdio: ["pipe", "pipe", "pipe"] })
  children.add(child)
  let log = ""
  child.stderr!.setEncoding("utf8")
  child.stderr!.on("data", (chunk: string) => {
    log += chunk
  })
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child)
      resolve(code ?? signal ?? "unknown")
    })
  })
  return { child, stderr: () => log, exited }
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export const waitFor = async <A>(what: string, probe: () => A | undefined | Promise<A | undefined>, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Resolves with the exit status, or with "still running" after `timeoutMs`. */
export const exitWithin = (spawned: Spawned, timeoutMs: number): Promise<number | string> =>
  Promise.race([spawned.exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), timeoutMs))])

/** Listens on 127.0.0.1 (the only kind of host these tests scan) on a free port, closed at cleanup; returns the port. */
const listenOnLoopback = async (server: Server): Promise<number> => {
  listeners.add(server)
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => resolve())
  })
  const address = server.address()
  if (address === null || typeof address === "string") throw new Error("listener has no TCP address")
  return address.port
}

/** A TCP listener that accepts and closes each connection: an open port. */
export const startListener = (): Promise<number> => listenOnLoopback(createServer((socket) => socket.destroy()))

/**
 * A TCP listener that accepts and never says a word: nmap's version
 * detection waits out each of its probes on it, so a `-sV` scan of it runs
 * for a long time while its percentage stands still.
 */
export const startSilentListener = (): Promise<number> =>
  listenOnLoopback(createServer((socket) => {
    held.add(socket)
    socket.on("error", () => undefined)
    socket.on("close", () => held.delete(socket))
  }))

export interface ProcessEntry {
  readonly pid: number
  readonly ppid: number
  readonly args: string
}

/** The parent of a process, from /proc. */
export const parentOf = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  // The parent follows the state, after the parenthesised command name (which may contain spaces).
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
}

/** Live nmap processes whose command line contains `marker` (zombies show as `[nmap] <defunct>` and do not match). */
export const nmapProcesses = (marker: string): ReadonlyArray<ProcessEntry> =>
  execFileSync("ps", ["-eo", "pid=,ppid=,stat=,args="], { encoding: "utf8" })
    .split("\n")
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !m[3]!.startsWith("Z"))
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[4]! }))
    .filter((p) => /(^|\/)nmap\s/.test(p.args) && p.args.includes(marker))

/** Waits until an nmap process with `marker` runs and returns it. */
export const nmapStarted = (marker: string, timeoutMs = 10_000): Promise<ProcessEntry> =>
  waitFor(`an nmap process with ${marker}`, () => nmapProcesses(marker)[0], timeoutMs)

/** Waits until no nmap process with `marker` remains; fails listing the survivors otherwise. */
export const nmapGone = async (marker: string, timeoutMs = 10_000): Promise<void> => {
  await waitFor(`nmap processes with ${marker} to end`, () => (nmapProcesses(marker).length === 0 ? true : undefined), timeoutMs).catch(
    (error: Error) => {
      throw new Error(`${error.message}; still running: ${JSON.stringify(nmapProcesses(marker))}`)
    }
  )
}

/**
 * Kills every server still running (SIGKILL: a test that got here has
 * failed or finished) and any nmap a test left behind, and closes listeners.
 */
export const cleanup = async (markers: ReadonlyArray<string> = []): Promise<void> => {
  const waits = [...children].map((child) => {
    const done = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    child.kill("SIGKILL")
    return done
  })
  await Promise.all(waits)
  for (const marker of markers) {
    for (const p of nmapProcesses(marker)) {
      try {
        process.kill(p.pid, "SIGKILL")
      } catch {
        // already gone
      }
    }
  }
  for (const socket of held) socket.destroy()
  await Promise.all([...listeners].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))))
  listeners.clear()
}

export interface HttpServer extends Spawned {
  /** `http://127.0.0.1:PORT`, parsed from the server's start-up log line. */
  readonly base: string
}

/** Starts `serve --transport http --port 0` and waits for the address it logs (`listening on http://…`). */
export const startHttpServer = async (
  args: ReadonlyArray<string> = [],
  env: Readonly<Record<string, string>> = serverEnv()
): Promise<HttpServer> => {
  const spawned = spawnServer(["serve", "--transport", "http", "--port", "0", ...args], env)
  const exitedEarly = spawned.exited.then((status) => {
    throw new Error(`the server exited (${status}) before listening:\n${spawned.stderr()}`)
  })
  const listening = waitFor(
    "the server's listening log line",
    () => /listening on (http:\/\/[0-9.]+:\d+)/.exec(spawned.stderr())?.[1],
    15_000
  )
  const base = await Promise.race([listening, exitedEarly])
  return { ...spawned, base }
}

/** JSON text of `depth` arrays nested around a string: `JSON.stringify` itself overflows the stack on such a value. */
export const deeplyNestedJson = (depth: number): string => `${"[".repeat(depth)}"-sV"${"]".repeat(depth)}`

/** The parsed lines of a JSON Lines file (the audit log); none when it does not exist yet. */
export const jsonLines = (path: string): ReadonlyArray<Record<string, unknown>> =>
  existsSync(path)
    ? readFileSync(path, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>)
    : []
