import { Context, Duration, Effect, Layer, Ref } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { ToolNotFound } from "../errors.js"
import { Events } from "../events/Events.js"
import { ProcessRunner } from "../runner/ProcessRunner.js"
import { resolveBinary } from "../runner/resolveBinary.js"
import type { ToolSpec } from "./ToolSpec.js"

export interface RegisteredTool {
  readonly spec: ToolSpec<any>
  /** Absolute path resolved at start-up; `null` when the binary is missing. */
  readonly path: string | null
  readonly version: string | null
  readonly unavailableReason: string | null
  readonly enabled: boolean
}

/**
 * The tools this server offers. Binaries are resolved once at start-up so a
 * later change of PATH cannot swap what runs; a missing binary makes its tool
 * unavailable, never the server fail.
 */
export class ToolRegistry extends Context.Tag("security-mcp/ToolRegistry")<
  ToolRegistry,
  {
    readonly all: Effect.Effect<ReadonlyArray<RegisteredTool>>
    readonly get: (name: string) => Effect.Effect<RegisteredTool, ToolNotFound>
    readonly setEnabled: (name: string, enabled: boolean) => Effect.Effect<RegisteredTool, ToolNotFound>
  }
>() {}

const firstLine = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? null

const locate = (spec: ToolSpec<any>) =>
  resolveBinary(spec.binary).pipe(
    Effect.match({
      onFailure: (error) => ({ spec, path: null, version: null, unavailableReason: error.message }),
      onSuccess: (path) => ({ spec, path, version: null as string | null, unavailableReason: null })
    })
  )

const versionOf = (path: string, spec: ToolSpec<any>) =>
  Effect.flatMap(ProcessRunner, (runner) =>
    runner.run({
      command: path,
      args: spec.versionArgs,
      timeout: Duration.seconds(10),
      killGrace: Duration.seconds(1),
      limits: { addressSpaceBytes: 1024 * 1024 * 1024, openFiles: 256, cpuSeconds: 10 },
      maxStdoutBytes: 16384,
      maxStderrBytes: 16384
    })).pipe(
      Effect.map((r) => firstLine(r.stdout) ?? firstLine(r.stderr)),
      Effect.orElseSucceed(() => null)
    )

export const ToolRegistryLive = (specs: ReadonlyArray<ToolSpec<any>>) =>
  Layer.scoped(
    ToolRegistry,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const events = yield* Events
      const runner = yield* ProcessRunner
      const located = yield* Effect.forEach(specs, locate, { concurrency: 4 })
      for (const tool of located) {
        if (tool.unavailableReason !== null) yield* Effect.logWarning(`tool ${tool.spec.name} unavailable: ${tool.unavailableReason}`)
      }
      const byName = new Map(located.map((t) => [t.spec.name, t]))
      // Versions are informational: asking each binary runs in the background so start-up does not wait for it.
      yield* Effect.forEach(
        located.filter((t) => t.path !== null),
        (tool) =>
          versionOf(tool.path!, tool.spec).pipe(
            Effect.tap((version) => Effect.sync(() => byName.set(tool.spec.name, { ...tool, version }))),
            Effect.tap((version) => Effect.logInfo(`tool ${tool.spec.name} ready`).pipe(Effect.annotateLogs({ path: tool.path, version })))
          ),
        { concurrency: 2, discard: true }
      ).pipe(Effect.provideService(ProcessRunner, runner), Effect.forkScoped)
      /** Operator switches from the API win over the config file until the next restart. */
      const switches = yield* Ref.make(new Map<string, boolean>())

      const view = (name: string) =>
        Effect.gen(function*() {
          const tool = byName.get(name)
          if (tool === undefined) return yield* new ToolNotFound({ tool: name, message: `no tool named ${name}` })
          const c = yield* config.get
          const switched = (yield* Ref.get(switches)).get(name)
          return { ...tool, enabled: switched ?? c.tools[name]?.enabled ?? true }
        })

      return {
        all: Effect.forEach(located, (t) => Effect.orDie(view(t.spec.name))),
        get: view,
        setEnabled: (name, enabled) =>
          Effect.gen(function*() {
            yield* view(name)
            yield* Ref.update(switches, (m) => new Map(m).set(name, enabled))
            yield* events.publish({ type: enabled ? "tool.enabled" : "tool.disabled", tool: name })
            yield* Effect.logInfo(`tool ${name} ${enabled ? "enabled" : "disabled"}`)
            return yield* view(name)
          })
      }
    })
  )
