/**
 * Synchronous last-resort cleanups (kill children, delete namespaces) for a
 * test worker that dies before its finalizers run. Finalizers remove their
 * entry when they did the work themselves.
 */
const pending = new Map<number, () => void>()
let nextId = 0
let installed = false

const runAll = () => {
  for (const [id, cleanup] of pending) {
    pending.delete(id)
    try {
      cleanup()
    } catch {
      // Best effort at exit: one failed cleanup must not skip the others.
    }
  }
}

const install = () => {
  if (installed) return
  installed = true
  process.on("exit", runAll)
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      runAll()
      process.exit(128 + (signal === "SIGINT" ? 2 : 15))
    })
  }
}

/** Registers `cleanup` to run at process exit; the returned function unregisters it. */
export const atExit = (cleanup: () => void): () => void => {
  install()
  const id = nextId++
  pending.set(id, cleanup)
  return () => {
    pending.delete(id)
  }
}

/** SIGKILLs a process group (or a single process), ignoring ESRCH. */
export const killGroup = (pid: number) => {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL")
    } catch {
      // Already gone.
    }
  }
}
