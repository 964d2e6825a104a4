import { execFileSync } from "node:child_process"
import os from "node:os"

/** Where the figures were taken, so a reader can tell whether they compare; a high load average means other work shared the CPUs. */
export const machineInfo = () => {
  const cpus = os.cpus()
  const nmap = (() => {
    try {
      return execFileSync("nmap", ["--version"], { encoding: "utf8" }).split("\n")[0]?.trim() ?? null
    } catch {
      return null
    }
  })()
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGb: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
    nmap
  }
}

export interface LoadRecord {
  readonly atStart: ReadonlyArray<number>
  readonly atEnd: ReadonlyArray<number>
  /** The 1-minute load average sampled every few seconds through the run. */
  readonly during: { readonly samples: number; readonly min: number; readonly median: number; readonly max: number }
}

const SAMPLE_EVERY_MS = 5000
const two = (x: number) => Number(x.toFixed(2))

/**
 * Samples the 1-minute load average while the run lasts: on a shared machine
 * the start and end values alone miss other work that came and went.
 */
export const sampleLoad = () => {
  const atStart = os.loadavg().map(two)
  const samples: Array<number> = [atStart[0]!]
  const timer = setInterval(() => samples.push(two(os.loadavg()[0]!)), SAMPLE_EVERY_MS)
  timer.unref()
  return {
    finish: (): LoadRecord => {
      clearInterval(timer)
      const atEnd = os.loadavg().map(two)
      samples.push(atEnd[0]!)
      const sorted = [...samples].sort((a, b) => a - b)
      return {
        atStart,
        atEnd,
        during: {
          samples: sorted.length,
          min: sorted[0]!,
          median: sorted[Math.floor((sorted.length - 1) / 2)]!,
          max: sorted[sorted.length - 1]!
        }
      }
    }
  }
}
