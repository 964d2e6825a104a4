import { readdirSync, readFileSync } from "node:fs"
import { accessSync, constants } from "node:fs"
import { delimiter, join } from "node:path"

interface Stat {
  readonly pid: number
  readonly state: string
  readonly pgrp: number
}

const statOf = (pid: number): Stat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the parenthesised command name, which may itself contain spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ")
    return { pid, state: fields[0] ?? "", pgrp: Number(fields[2]) }
  } catch {
    return undefined
  }
}

const livingStat = (stat: Stat | undefined): stat is Stat => stat !== undefined && stat.state !== "Z" && stat.state !== "X"

/** Living (non-zombie) processes whose process group is `pgid`. */
export const groupMembers = (pgid: number): ReadonlyArray<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map((name) => statOf(Number(name)))
    .filter(livingStat)
    .filter((stat) => stat.pgrp === pgid)
    .map((stat) => stat.pid)

export const isAlive = (pid: number): boolean => livingStat(statOf(pid))

export interface Memory {
  /** Resident set size now, in bytes. */
  readonly rss: number
  /** Peak resident set size, in bytes. */
  readonly hwm: number
}

/** VmRSS and VmHWM of a process from /proc/PID/status. */
export const memoryOf = (pid: number): Memory => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") }
}

/** Absolute path of an executable on the test runner's PATH, or undefined. */
export const which = (name: string): string | undefined => {
  for (const dir of (process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    if (dir === "") continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // Not here.
    }
  }
  return undefined
}
