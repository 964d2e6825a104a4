import { readdirSync, readFileSync } from "node:fs"

/** Memory of processes from /proc (Linux): the server and every helper it started, summed. */

export interface ProcessMemory {
  readonly pid: number
  readonly command: string
  /** Resident set size: every page mapped and resident, shared ones (the node binary's code) included. */
  readonly rssMb: number
  /** Proportional set size: shared pages divided among the processes that map them. */
  readonly pssMb: number
  /** Peak resident set size (VmHWM). */
  readonly hwmMb: number
}

export interface TreeMemory {
  readonly processes: ReadonlyArray<ProcessMemory>
  readonly rssMb: number
  readonly pssMb: number
}

const readOr = (path: string, fallback: string) => {
  try {
    return readFileSync(path, "utf8")
  } catch {
    return fallback
  }
}

const parentOf = (pid: number): number | undefined => {
  const stat = readOr(`/proc/${pid}/stat`, "")
  if (stat === "") return undefined
  // The parent follows the state, after the parenthesised command name (which may contain spaces).
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
}

/** `pid` and all its descendants that are alive now. */
export const processTree = (pid: number): ReadonlyArray<number> => {
  const children = new Map<number, Array<number>>()
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue
    const parent = parentOf(Number(name))
    if (parent !== undefined) children.set(parent, [...(children.get(parent) ?? []), Number(name)])
  }
  const tree: Array<number> = []
  const visit = (p: number) => {
    tree.push(p)
    for (const child of children.get(p) ?? []) visit(child)
  }
  visit(pid)
  return tree
}

const kbField = (text: string, field: string) => Number(text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"))?.[1] ?? Number.NaN) / 1024

export const processMemory = (pid: number): ProcessMemory => {
  const status = readOr(`/proc/${pid}/status`, "")
  const rollup = readOr(`/proc/${pid}/smaps_rollup`, "")
  return {
    pid,
    command: readOr(`/proc/${pid}/cmdline`, "").split("\0").join(" ").trim().slice(0, 80),
    rssMb: kbField(status, "VmRSS"),
    pssMb: kbField(rollup, "Pss"),
    hwmMb: kbField(status, "VmHWM")
  }
}

/** The server and its helpers (a tool running at that moment included, if any). */
export const treeMemory = (pid: number): TreeMemory => {
  const processes = processTree(pid).map(processMemory).filter((p) => Number.isFinite(p.rssMb))
  return {
    processes,
    rssMb: processes.reduce((sum, p) => sum + p.rssMb, 0),
    pssMb: processes.reduce((sum, p) => sum + p.pssMb, 0)
  }
}

/** Clock ticks of CPU a process has used so far, all its threads, user and system (`/proc/PID/stat` fields 14 and 15). */
const cpuTicks = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
  return Number(fields[11]) + Number(fields[12])
}

/** Linux reports CPU time in USER_HZ ticks, 100 per second on every architecture Node runs on. */
const TICKS_PER_SECOND = 100

/** Milliseconds of CPU the process uses while `run` runs. */
export const cpuMillisDuring = async <A>(pid: number, run: () => Promise<A>): Promise<{ readonly result: A; readonly cpuMs: number }> => {
  const before = cpuTicks(pid)
  const result = await run()
  return { result, cpuMs: ((cpuTicks(pid) - before) * 1000) / TICKS_PER_SECOND }
}
