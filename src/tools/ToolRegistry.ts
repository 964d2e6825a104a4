import { Context, Duration, Effect, Layer, Ref } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { ToolNotFound } from "../errors.js"
import { Events } from "../observability/Events.js"
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

const probe = (spec: ToolSpec<any>) =>
  Effect.gen(function*() {
    const runner = yield* ProcessRunner
    const path = yield* resolveBinary(spec.binary).pipe(Effect.either)
    if (path._tag === "Left") {
      return { spec, path: null, version: null, unavailableReason: path.left.message }
    }
    const version = yield* runner.run({
      command: path.right,
      args: spec.versionArgs,
      timeout: Duration.seconds(10),
      killGrace: Duration.seconds(1),
      limits: { addressSpaceBytes: 1024 * 1024 * 1024, openFiles: 256, cpuSeconds: 10 },
      maxStdoutBytes: 16384,
      maxStderrBytes: 16384
    }).pipe(
      Effect.map((r) => firstLine(r.stdout) ?? firstLine(r.stderr)),
      Effect.orElseSucceed(() => null)
    )
    return { spec, path: path.right, version, unavailableReason: null }
  })

export const ToolRegistryLive = (specs: ReadonlyArray<ToolSpec<any>>) =>
  Layer.effect(
    ToolRegistry,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const events = yield* Events
      const probed = yield* Effect.forEach(specs, probe, { concurrency: 4 })
      for (const tool of probed) {
        if (tool.unavailableReason !== null) {
          yield* Effect.logWarning(`tool ${tool.spec.name} unavailable: ${tool.unavailableReason}`)
        } else {
          yield* Effect.logInfo(`tool ${tool.spec.name} ready`).pipe(Effect.annotateLogs({ path: tool.path, version: tool.version }))
        }
      }
      const byName = new Map(probed.map((t) => [t.spec.name, t]))
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
        all: Effect.forEach(probed, (t) => Effect.orDie(view(t.spec.name))),
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
