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
    loadAverageAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    nmap
  }
}
