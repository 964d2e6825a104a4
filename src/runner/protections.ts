import { Effect, Option } from "effect"
import { ResourceLimitsUnavailable } from "../errors.js"
import { resolveBinary, SAFE_PATH } from "./resolveBinary.js"

/**
 * What the runner can promise about a tool process on this host. Process-group
 * kill (timeouts, cancellation, shutdown) and the watchdog (the spawner
 * helper) need only POSIX signals and Node; kernel resource limits and the parent-death signal need
 * util-linux's prlimit and setpriv, which exist on Linux only. On macOS and
 * the BSDs nothing equivalent can be applied to a child without a shell or a
 * compiled helper: see the README's platform table.
 */

/** The wrappers found on this host; looked up in system directories first, so PATH cannot shadow them. */
export interface Wrappers {
  readonly prlimit: Option.Option<string>
  readonly setpriv: Option.Option<string>
}

/** `security.resource_limits`. */
export type ResourceLimitsMode = "enforce" | "best_effort"

export interface WrapperNames {
  /** Name or absolute path of util-linux prlimit (default `prlimit`). */
  readonly prlimit?: string
  /** Name or absolute path of util-linux setpriv (default `setpriv`). */
  readonly setpriv?: string
}

export const findWrappers = (names: WrapperNames = {}): Effect.Effect<Wrappers> =>
  Effect.all({
    prlimit: Effect.option(resolveBinary(names.prlimit ?? "prlimit", `${SAFE_PATH}:${process.env["PATH"] ?? ""}`)),
    setpriv: Effect.option(resolveBinary(names.setpriv ?? "setpriv", SAFE_PATH))
  })

/** A protection the host cannot give, with what is lost without it. */
export interface Missing {
  readonly protection: "resource_limits" | "parent_death_signal"
  readonly binary: "prlimit" | "setpriv"
  readonly lost: string
}

export const missingProtections = (wrappers: Wrappers): ReadonlyArray<Missing> => [
  ...(Option.isNone(wrappers.prlimit)
    ? [{
      protection: "resource_limits" as const,
      binary: "prlimit" as const,
      lost: "no address-space, open-file, core-dump or CPU-time limit on the tool process"
    }]
    : []),
  ...(Option.isNone(wrappers.setpriv)
    ? [{
      protection: "parent_death_signal" as const,
      binary: "setpriv" as const,
      lost: "no parent-death signal (the watchdog still kills the tool if the server dies)"
    }]
    : [])
]

export interface ProtectionLine {
  readonly held: boolean
  readonly text: string
}

const groupKill = process.platform !== "win32"

/** One line per protection, for `validate` and the start-up log. */
export const protectionReport = (wrappers: Wrappers): ReadonlyArray<ProtectionLine> => [
  Option.match(wrappers.prlimit, {
    onSome: (path) => ({ held: true, text: `kernel resource limits (address space, open files, no core, CPU time): ${path}` }),
    onNone: () => ({ held: false, text: "kernel resource limits: prlimit (util-linux) not found" })
  }),
  Option.match(wrappers.setpriv, {
    onSome: (path) => ({ held: true, text: `parent-death signal (SIGKILL when the spawner dies, which it does with the server): ${path}` }),
    onNone: () => ({ held: false, text: "parent-death signal: setpriv (util-linux) not found" })
  }),
  {
    held: groupKill,
    text: groupKill ? "process-group kill on timeout, cancellation and shutdown" : "process-group kill: needs POSIX process groups"
  },
  { held: groupKill, text: "watchdog (the spawner process): kills running tools' process groups if the server is killed" }
]

/** How to get the missing protections back, or (while limits are enforced) to run without them knowingly. */
export const fixFor = (missing: ReadonlyArray<Missing>, mode: ResourceLimitsMode = "enforce"): string => {
  const binaries = missing.map((m) => m.binary).join(" and ")
  const install = process.platform === "linux"
    ? `install util-linux, which ships ${binaries} (Debian/Ubuntu: apt-get install util-linux)`
    : `${binaries} exist on Linux only: run the server in its container image (serve --transport stdio) or in a Linux VM or WSL`
  return mode === "best_effort" ? install : `${install}; or set security.resource_limits: best_effort ` +
    "(MCP_SECURITY_RESOURCE_LIMITS=best_effort) to run tools with timeouts, output caps and process-group kill only"
}

export const limitsUnavailable = (command: string, missing: ReadonlyArray<Missing>): ResourceLimitsUnavailable =>
  new ResourceLimitsUnavailable({
    missing: missing.map((m) => m.protection),
    message: `${command} was not started: ${missing.map((m) => `${m.binary} not found (${m.lost})`).join("; ")}. ` +
      `Fix: ${fixFor(missing)}`
  })

/** The note each best-effort result carries, naming what did not hold for it. */
export const bestEffortNotes = (missing: ReadonlyArray<Missing>): ReadonlyArray<string> =>
  missing.map((m) => `security.resource_limits is best_effort and ${m.binary} was not found: ${m.lost}`)
