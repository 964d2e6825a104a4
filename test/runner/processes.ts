import { readFileSync } from "node:fs"
import type { RunRequest } from "../../src/runner/ProcessRunner.js"

/**
 * Whether a process still runs. A zombie counts as dead: it has exited but
 * waits to be reaped, and this machine's init does not reap orphans promptly.
 */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The state follows the parenthesised command name, which may contain spaces.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3)
    return state !== "Z" && state !== "X"
  } catch {
    return false
  }
}

/** A run request with generous limits, a 20 s timeout and a short kill grace; `overrides` change any of it. */
export const runRequest = (command: string, args: ReadonlyArray<string>, overrides: Partial<RunRequest> = {}): RunRequest => ({
  command,
  args,
  timeout: "20 seconds",
  killGrace: "300 millis",
  limits: { addressSpaceBytes: 1024 * 1024 * 1024, openFiles: 256, cpuSeconds: 60 },
  maxStdoutBytes: 1024 * 1024,
  maxStderrBytes: 1024 * 1024,
  ...overrides
})
