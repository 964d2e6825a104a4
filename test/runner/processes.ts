import { readFileSync } from "node:fs"

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
