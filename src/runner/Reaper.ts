import { Effect, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"

/**
 * Takes the process groups of running tools down with the server when it dies
 * without cleaning up (SIGKILL, the OOM killer), which no finalizer survives.
 * A small watchdog process, started with the first tool, learns each group as
 * it starts and ends over a pipe; when the pipe closes because the server is
 * gone, it SIGKILLs every group still listed. It leads its own process group
 * and ignores SIGINT/SIGTERM, so signals aimed at the server's group (Ctrl-C)
 * cannot take it out first.
 */
const watchdog = `
const groups = new Set()
let pending = ""
process.on("SIGINT", () => {})
process.on("SIGTERM", () => {})
process.stdin.setEncoding("utf8")
process.stdin.on("data", (chunk) => {
  pending += chunk
  let end
  while ((end = pending.indexOf("\\n")) >= 0) {
    const line = pending.slice(0, end)
    pending = pending.slice(end + 1)
    const group = Number(line.slice(1))
    if (!Number.isInteger(group) || group <= 1) continue
    if (line[0] === "+") groups.add(group)
    else groups.delete(group)
  }
})
const reap = () => {
  for (const group of groups) {
    try { process.kill(-group, "SIGKILL") } catch {}
  }
  process.exit(0)
}
process.stdin.on("end", reap)
process.stdin.on("error", reap)
`

export interface Reaper {
  readonly register: (pgid: number) => void
  readonly unregister: (pgid: number) => void
}

export const makeReaper: Effect.Effect<Reaper, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => {
    let child: ChildProcess | undefined
    const send = (line: string) => {
      if (child === undefined) {
        child = spawn(process.execPath, ["-e", watchdog], { detached: true, stdio: ["pipe", "ignore", "ignore"], env: {} })
        child.on("error", () => undefined)
        child.stdin?.on("error", () => undefined)
        // Neither the watchdog nor its pipe may keep the server alive.
        child.unref()
        ;(child.stdin as unknown as { unref?: () => void } | null)?.unref?.()
      }
      child.stdin?.write(line)
    }
    return {
      register: (pgid: number) => send(`+${pgid}\n`),
      unregister: (pgid: number) => send(`-${pgid}\n`),
      close: () => child?.stdin?.end()
    }
  }),
  (reaper) => Effect.sync(() => reaper.close())
)
