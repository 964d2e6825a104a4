import { Option } from "effect"
import type { ResourceLimits } from "./ProcessRunner.js"
import type { Wrappers } from "./protections.js"

const positiveInt = (value: number): number => Math.max(1, Math.ceil(value))

/**
 * The argv that runs `command args…` under util-linux prlimit. prlimit sets
 * the limits on itself and then execs the command, so the child's pid (and
 * process group) is the tool's own. The CPU hard limit sits one second above
 * the soft one so a runaway tool dies of SIGXCPU, which names the cause,
 * rather than an anonymous SIGKILL.
 */
export const prlimitArgv = (
  prlimitPath: string,
  limits: ResourceLimits,
  command: string,
  args: ReadonlyArray<string>
): ReadonlyArray<string> => [
  prlimitPath,
  `--as=${positiveInt(limits.addressSpaceBytes)}`,
  `--nofile=${positiveInt(limits.openFiles)}:${positiveInt(limits.openFiles)}`,
  "--core=0",
  `--cpu=${positiveInt(limits.cpuSeconds)}:${positiveInt(limits.cpuSeconds) + 1}`,
  "--",
  command,
  ...args
]

/**
 * Prefixes an argv with util-linux setpriv so the child gets SIGKILL when the
 * server dies without cleaning up (SIGKILL, OOM kill): every other path kills
 * the process group itself, this one cannot. The setting survives the execs
 * into prlimit and the tool (not into set-user-ID or file-capability binaries,
 * where the kernel clears it).
 */
export const pdeathsigArgv = (setprivPath: string, argv: ReadonlyArray<string>): ReadonlyArray<string> => [
  setprivPath,
  "--pdeathsig",
  "KILL",
  "--",
  ...argv
]

/** The argv of `command args…` under whichever wrappers this host has (all of them unless limits are best effort). */
export const wrappedArgv = (
  wrappers: Wrappers,
  limits: ResourceLimits,
  command: string,
  args: ReadonlyArray<string>
): ReadonlyArray<string> => {
  const limited = Option.match(wrappers.prlimit, {
    onNone: () => [command, ...args],
    onSome: (path) => prlimitArgv(path, limits, command, args)
  })
  return Option.match(wrappers.setpriv, { onNone: () => limited, onSome: (path) => pdeathsigArgv(path, limited) })
}
