import { Context, type Duration, type Effect } from "effect"
import type { SpawnFailed } from "../errors.js"

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
  readonly maxStdoutBytes: number
  readonly maxStderrBytes: number
  /** Extra environment; the child otherwise gets a minimal PATH/LANG environment. */
  readonly env?: Readonly<Record<string, string>>
  /** Called with each decoded chunk of output as it arrives (progress parsing). */
  readonly onOutput?: (stream: "stdout" | "stderr", chunk: string) => Effect.Effect<void>
}

export interface RunResult {
  /** The exact argv executed, the wrapper (prlimit) included. */
  readonly argv: ReadonlyArray<string>
  readonly exitCode: number | null
  readonly signal: string | null
  readonly durationMs: number
  readonly stdout: string
  readonly stderr: string
  readonly truncatedStdout: boolean
  readonly truncatedStderr: boolean
  readonly timedOut: boolean
}

/**
 * Runs one binary with an argv, resource limits, output caps and a timeout.
 * Interrupting the returned effect kills the child's whole process group.
 */
export class ProcessRunner extends Context.Tag("security-mcp/ProcessRunner")<
  ProcessRunner,
  {
    readonly run: (request: RunRequest) => Effect.Effect<RunResult, SpawnFailed>
  }
>() {}
