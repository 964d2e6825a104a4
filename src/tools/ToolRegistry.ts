import { Context, Duration, Effect, Layer, Queue } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { ToolNotFound } from "../errors.js"
import { Events } from "../events/Events.js"
import { ProcessRunner } from "../runner/ProcessRunner.js"
import { resolveBinary } from "../runner/resolveBinary.js"
import { Startup } from "../startup.js"
import type { ToolSpec } from "./ToolSpec.js"

export interface RegisteredTool {
  readonly spec: ToolSpec<any>
  /** Absolute path found by the last check; `null` when the binary is missing (or refused). */
  readonly path: string | null
  readonly version: string | null
  readonly unavailableReason: string | null
  readonly enabled: boolean
}

type Located = Omit<RegisteredTool, "enabled">

/**
 * The tools this server offers. Binaries are resolved at start-up and then
 * re-checked every `tool.availability_check_interval` seconds and after a
 * spawn failure: a binary removed later makes its tool unavailable (callers
 * get ToolUnavailable, which does not count against the breaker), a restored
 * one makes it available again. A missing binary never makes the server fail.
 */
export class ToolRegistry extends Context.Tag("security-mcp/ToolRegistry")<
  ToolRegistry,
  {
    readonly all: Effect.Effect<ReadonlyArray<RegisteredTool>>
    /** The registered names, fixed when the registry is built: whether a name is a tool costs no lookup. */
    readonly names: ReadonlySet<string>
    readonly get: (name: string) => Effect.Effect<RegisteredTool, ToolNotFound>
    /** What `get` gives under `config`, read without an effect; undefined for a name that is no tool. */
    readonly getNow: (name: string, config: AppConfig) => RegisteredTool | undefined
    readonly setEnabled: (name: string, enabled: boolean) => Effect.Effect<RegisteredTool, ToolNotFound>
    /** Locates the tool's binary again (resolve and vet) and returns the tool as now registered. */
    readonly recheck: (name: string) => Effect.Effect<RegisteredTool, ToolNotFound>
  }
>() {}

const firstLine = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? null

const locate = (spec: ToolSpec<any>): Effect.Effect<Located> =>
  resolveBinary(spec.binary).pipe(
    Effect.tap((path) => spec.vetBinary?.(path) ?? Effect.void),
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

/** Lookups keyed by a name from a request or the config never read Object.prototype. */
const ownEntry = <A>(record: Readonly<Record<string, A>>, key: string): A | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined

/** A tool as registered: the last view of each is reused while what it is made from stays the same (a flood asks for one tool). */
const makeViews = () => {
  const views = new Map<string, { readonly from: Located; readonly view: RegisteredTool }>()
  return (name: string, from: Located, enabled: boolean): RegisteredTool => {
    const last = views.get(name)
    if (last !== undefined && last.from === from && last.view.enabled === enabled) return last.view
    const view = { ...from, enabled }
    views.set(name, { from, view })
    return view
  }
}

/**
 * Re-checks every tool each `tool.availability_check_interval` seconds, and a
 * tool at once when one of its executions failed to spawn: the first sign
 * that its binary went away.
 */
const watch = (
  specs: ReadonlyArray<ToolSpec<any>>,
  recheckSpec: (spec: ToolSpec<any>) => Effect.Effect<void>,
  recheck: (name: string) => Effect.Effect<void>
) =>
  Effect.gen(function*() {
    const config = yield* ConfigService
    const everyInterval = config.get.pipe(
      Effect.flatMap((c) => Effect.sleep(Duration.seconds(c.tool.availability_check_interval))),
      Effect.zipRight(Effect.forEach(specs, recheckSpec, { discard: true }))
    )
    yield* Effect.forkScoped(Effect.forever(everyInterval))
    const subscription = yield* Effect.flatMap(
      Events,
      (events) => events.subscribeTo((event) => event.type === "execution.finished" && event.errorType === "SpawnFailed")
    )
    yield* Effect.forkScoped(Effect.forever(
      Queue.take(subscription).pipe(Effect.flatMap((event) => (event.type === "execution.finished" ? recheck(event.tool) : Effect.void)))
    ))
  })

export const ToolRegistryLive = (specs: ReadonlyArray<ToolSpec<any>>) =>
  Layer.scoped(
    ToolRegistry,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const events = yield* Events
      const runner = yield* ProcessRunner
      const scope = yield* Effect.scope
      const initial = yield* Effect.forEach(specs, locate, { concurrency: 4 })
      for (const tool of initial) {
        if (tool.unavailableReason !== null) yield* Effect.logWarning(`tool ${tool.spec.name} unavailable: ${tool.unavailableReason}`)
      }
      // Plain state, replaced whole and never awaited, so a lookup can read it without an effect (`getNow`).
      let located: ReadonlyMap<string, Located> = new Map(initial.map((t) => [t.spec.name, t]))
      /** Operator switches from the API win over the config file until the next restart. */
      let switches: ReadonlyMap<string, boolean> = new Map()
      /** One re-check at a time: a burst of spawn failures does not fan out into parallel file-system scans. */
      const checking = yield* Effect.makeSemaphore(1)

      // Versions are informational: asking a binary runs in the background so start-up (or a re-check) does not wait for
      // it, and at start-up not before the first requests either (see Startup).
      const learnVersion = (tool: Located) =>
        tool.path === null ? Effect.void : versionOf(tool.path, tool.spec).pipe(
          Effect.tap((version) =>
            Effect.sync(() => {
              const current = located.get(tool.spec.name)
              if (current?.path === tool.path) located = new Map(located).set(tool.spec.name, { ...current, version })
            })
          ),
          Effect.tap((version) => Effect.logInfo(`tool ${tool.spec.name} ready`).pipe(Effect.annotateLogs({ path: tool.path, version }))),
          Effect.provideService(ProcessRunner, runner),
          Effect.asVoid
        )
      const startup = yield* Startup
      yield* startup.background(Effect.forEach(initial, learnVersion, { concurrency: 2, discard: true })).pipe(Effect.forkScoped)

      const viewOf = makeViews()
      const viewNow = (name: string, c: AppConfig): RegisteredTool | undefined => {
        const tool = located.get(name)
        return tool === undefined ? undefined : viewOf(name, tool, switches.get(name) ?? ownEntry(c.tools, name)?.enabled ?? true)
      }
      // Every call looks its tool up: one read of the configuration, no generator.
      const view = (name: string): Effect.Effect<RegisteredTool, ToolNotFound> =>
        Effect.flatMap(config.get, (c) => {
          const tool = viewNow(name, c)
          return tool === undefined ? Effect.fail(new ToolNotFound({ tool: name, message: `no tool named ${name}` })) : Effect.succeed(tool)
        })

      const recheckSpec = (spec: ToolSpec<any>) =>
        checking.withPermits(1)(Effect.gen(function*() {
          const before = located.get(spec.name)
          const after = yield* locate(spec)
          if (before !== undefined && before.path === after.path && before.unavailableReason === after.unavailableReason) return
          located = new Map(located).set(spec.name, after)
          if (after.path === null) yield* Effect.logWarning(`tool ${spec.name} is no longer available: ${after.unavailableReason}`)
          else yield* Effect.logInfo(`tool ${spec.name} is available again at ${after.path}`)
          yield* Effect.forkIn(learnVersion(after), scope)
        }))

      const recheck = (name: string) =>
        Effect.gen(function*() {
          const spec = specs.find((s) => s.name === name)
          if (spec === undefined) return yield* new ToolNotFound({ tool: name, message: `no tool named ${name}` })
          yield* recheckSpec(spec)
          return yield* view(name)
        })

      yield* watch(specs, recheckSpec, (name) => Effect.ignore(recheck(name)))

      return {
        all: Effect.forEach(specs, (s) => Effect.orDie(view(s.name))),
        names: new Set(specs.map((s) => s.name)),
        get: view,
        getNow: viewNow,
        recheck,
        setEnabled: (name, enabled) =>
          Effect.gen(function*() {
            yield* view(name)
            switches = new Map(switches).set(name, enabled)
            yield* events.publish({ type: enabled ? "tool.enabled" : "tool.disabled", tool: name })
            yield* Effect.logInfo(`tool ${name} ${enabled ? "enabled" : "disabled"}`)
            return yield* view(name)
          })
      }
    })
  )
