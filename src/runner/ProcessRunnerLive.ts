import { Layer } from "effect"
import { ProcessRunner } from "./ProcessRunner.js"
import { makeProcessRunner, type ProcessRunnerOptions } from "./runProcess.js"

/** The real runner: argv-only children under prlimit, in their own process groups, started by the spawner helper. */
export const processRunnerLayer = (options: ProcessRunnerOptions = {}): Layer.Layer<ProcessRunner> =>
  Layer.scoped(ProcessRunner, makeProcessRunner(options))

export const ProcessRunnerLive: Layer.Layer<ProcessRunner> = processRunnerLayer()
