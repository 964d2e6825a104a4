import type { CommandExecutor } from "@effect/platform"
import { Layer } from "effect"
import { ProcessRunner } from "./ProcessRunner.js"
import { makeProcessRunner, type ProcessRunnerOptions } from "./runProcess.js"

/** The real runner: argv-only children under prlimit, in their own process groups. */
export const processRunnerLayer = (
  options: ProcessRunnerOptions = {}
): Layer.Layer<ProcessRunner, never, CommandExecutor.CommandExecutor> => Layer.scoped(ProcessRunner, makeProcessRunner(options))

export const ProcessRunnerLive: Layer.Layer<ProcessRunner, never, CommandExecutor.CommandExecutor> = processRunnerLayer()
