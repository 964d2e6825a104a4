import { Context, type Duration, type Effect } from "effect"
import type { ResourceLimitsUnavailable, SpawnFailed } from "../errors.js"
import type { ResourceLimitsMode } from "./protections.js"

export interface ResourceLimits {
  /** Address-space limit in bytes (prlimit --as). */
  readonly addressSpaceBytes: number
  /** Open-file limit (prlimit --nofile). */
  readonly openFiles: number
  /** CPU-time limit in seconds (prlimit --cpu). */
  readonly cpuSeconds: number
}

export interface RunRequest {
  /** Absolute path of the binary; never interpreted by a shell. */
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly timeout: Duration.DurationInput
  /** Time between SIGTERM and SIGKILL of the process group. */
  readonly killGrace: Duration.DurationInput
  readonly limits: ResourceLimits
  /**
   * What to do where the host lacks prlimit or setpriv: `enforce` (the default) fails with
   * ResourceLimitsUnavailable, `best_effort` runs without them and says so in `notes`.
   */
  readonly resourceLimits?: ResourceLimitsMode
  readonly maxStdoutBytes: number
  readonly maxStderrBytes: number
  /** Extra environment; the child otherwise gets a minimal PATH/LANG environment. */
  readonly env?: Readonly<Record<string, string>>
  /** Called with each decoded chunk of output as it arrives (progress parsing). */
  readonly onOutput?: (stream: "stdout" | "stderr", chunk: string) => Effect.Effect<void>
}

export interface RunResult {
  /** The exact argv executed, the wrappers (setpriv, prlimit) included. */
  readonly argv: ReadonlyArray<string>
  readonly exitCode: number | null
  readonly signal: string | null
  readonly durationMs: number
  readonly stdout: string
  readonly stderr: string
  readonly truncatedStdout: boolean
  readonly truncatedStderr: boolean
  readonly timedOut: boolean
  /** What did not hold for this run (best-effort resource limits); absent or empty when everything did. */
  readonly notes?: ReadonlyArray<string>
}

/**
 * Runs one binary with an argv, resource limits, output caps and a timeout.
 * Interrupting the returned effect kills the child's whole process group.
 */
export class ProcessRunner extends Context.Tag("security-mcp/ProcessRunner")<
  ProcessRunner,
  {
    readonly run: (request: RunRequest) => Effect.Effect<RunResult, SpawnFailed | ResourceLimitsUnavailable>
  }
>() {}
