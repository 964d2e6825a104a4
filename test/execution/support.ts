import { Context, Effect, Layer, Queue, Ref, type Scope } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigService, type DeepPartial } from "../../src/config/ConfigService.js"
import type { AppConfig } from "../../src/config/schema.js"
import { SpawnFailed } from "../../src/errors.js"
import { Events, type TimedEvent } from "../../src/events/Events.js"
import { ExecutionGate } from "../../src/execution/ExecutionGate.js"
import { ToolExecutor } from "../../src/execution/ToolExecutor.js"
import { ToolExecutorLive } from "../../src/execution/ToolExecutorLive.js"
import type { Caller } from "../../src/identity/Caller.js"
import { AuditLog } from "../../src/observability/AuditLog.js"
import { ToolStats } from "../../src/observability/ToolStats.js"
import { Resolver } from "../../src/policy/Resolver.js"
import { CircuitBreakers } from "../../src/resilience/CircuitBreaker.js"
import { ConcurrencyLimiter } from "../../src/resilience/ConcurrencyLimiter.js"
import { RateLimiter } from "../../src/resilience/RateLimiter.js"
import { ProcessRunner, type RunRequest, type RunResult } from "../../src/runner/ProcessRunner.js"
import { Approvals } from "../../src/storage/Approvals.js"
import { Database } from "../../src/storage/Database.js"
import { ScanRecorder } from "../../src/storage/ScanRecorder.js"
import { ScanStore } from "../../src/storage/ScanStore.js"
import { SharedRateLimits } from "../../src/storage/SharedRateLimits.js"
import { StorageLive } from "../../src/storage/StorageLive.js"
import { builtinTools } from "../../src/tools/builtins.js"
import { ToolRegistryLive } from "../../src/tools/ToolRegistry.js"

/**
 * What the fake runner does with the next requests: finish with a result
 * (optionally emitting output chunks first), fail to spawn, or hang until
 * interrupted. It never starts a process, so no packet leaves this machine
 * whatever the target.
 */
export type Behaviour =
  | { readonly _tag: "Finish"; readonly result?: Partial<RunResult>; readonly chunks?: ReadonlyArray<string> }
  | { readonly _tag: "SpawnFailed" }
  /** Emits `chunks` (if any), then hangs until interrupted. */
  | { readonly _tag: "Hang"; readonly chunks?: ReadonlyArray<string> }

export const nmapXml = readFileSync(join(import.meta.dirname, "../fixtures/nmap/connect.xml"), "utf8")

const resultFor = (request: RunRequest, overrides: Partial<RunResult> = {}): RunResult => ({
  argv: [request.command, ...request.args],
  exitCode: 0,
  signal: null,
  durationMs: 5,
  stdout: nmapXml,
  stderr: "",
  truncatedStdout: false,
  truncatedStderr: false,
  timedOut: false,
  ...overrides
})

export interface FakeRunner {
  readonly layer: Layer.Layer<ProcessRunner>
  /** Every request since the last `clear`, oldest first. */
  readonly requests: Effect.Effect<ReadonlyArray<RunRequest>>
  readonly clear: Effect.Effect<void>
  readonly behave: (behaviour: Behaviour) => Effect.Effect<void>
  /** Requests that started hanging, and those whose fiber was then interrupted. */
  readonly started: Queue.Dequeue<RunRequest>
  readonly interrupted: Queue.Dequeue<RunRequest>
}

const isVersionProbe = (request: RunRequest) =>
  builtinTools.some((tool) =>
    tool.versionArgs.length === request.args.length && tool.versionArgs.every((arg, i) => request.args[i] === arg)
  )

export const makeFakeRunner: Effect.Effect<FakeRunner> = Effect.gen(function*() {
  const recorded = yield* Ref.make<ReadonlyArray<RunRequest>>([])
  const behaviour = yield* Ref.make<Behaviour>({ _tag: "Finish" })
  const started = yield* Queue.unbounded<RunRequest>()
  const interrupted = yield* Queue.unbounded<RunRequest>()

  const run = (request: RunRequest): Effect.Effect<RunResult, SpawnFailed> =>
    Effect.gen(function*() {
      // The registry asks each binary for its version in the background; only executions are of interest here.
      if (isVersionProbe(request)) return resultFor(request, { stdout: "fake 1.0\n" })
      yield* Ref.update(recorded, (all) => [...all, request])
      const b = yield* Ref.get(behaviour)
      switch (b._tag) {
        case "SpawnFailed":
          return yield* new SpawnFailed({ command: request.command, message: "fake spawn failure" })
        case "Hang":
          for (const chunk of b.chunks ?? []) {
            if (request.onOutput !== undefined) yield* request.onOutput("stdout", chunk)
          }
          yield* Queue.offer(started, request)
          return yield* Effect.never.pipe(Effect.onInterrupt(() => Queue.offer(interrupted, request)))
        case "Finish":
          for (const chunk of b.chunks ?? []) {
            if (request.onOutput !== undefined) yield* request.onOutput("stdout", chunk)
          }
          return resultFor(request, b.result)
      }
    })

  return {
    layer: Layer.succeed(ProcessRunner, { run }),
    requests: Ref.get(recorded),
    clear: Ref.set(recorded, []),
    behave: (b) => Ref.set(behaviour, b),
    started,
    interrupted
  }
})

export const caller: Caller = { id: "tester", transport: "http", address: "127.0.0.1", scopes: new Set(["execute"]) }

/** Names the static resolver knows; nothing is ever sent to these addresses (the runner is fake). */
export const staticNames = { "web.lab.internal": ["10.0.0.5"] }

export interface Harness {
  readonly executor: Context.Tag.Service<ToolExecutor>
  readonly gate: Context.Tag.Service<ExecutionGate>
  readonly breakers: Context.Tag.Service<CircuitBreakers>
  readonly limiter: Context.Tag.Service<ConcurrencyLimiter>
  readonly approvals: Context.Tag.Service<Approvals>
  readonly fake: FakeRunner
  /** Events published from the moment the harness was built. */
  readonly events: Queue.Dequeue<TimedEvent>
  readonly auditPath: string
  /** The scan store (a real SQLite file in the harness's directory unless the patch disables storage) as readers see it. */
  readonly store: Context.Tag.Service<ScanStore>
  readonly scans: Context.Tag.Service<ScanRecorder>
  readonly database: Context.Tag.Service<Database>
  /** The harness's private directory (the store is under data/). */
  readonly dir: string
  /** The audit log's lines, parsed. */
  readonly audit: Effect.Effect<ReadonlyArray<Record<string, unknown>>>
  /** Every service of the harness, to build more on top (the scheduler's tests). */
  readonly context: Context.Context<any>
}

/** A private directory removed with the scope. */
export const testDirectory: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "executor-test-"))),
  (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
)

/**
 * The real executor with every real service around it except the process
 * runner, approvals in a SQLite store of its own; `patch` is applied to the
 * default configuration. The registry's
 * start-up version probes go through the fake too but are not recorded, so
 * `fake.requests` holds only executions.
 */
export const makeHarness = (
  patch: DeepPartial<typeof AppConfig.Encoded> = {},
  options: { readonly privileged?: boolean; readonly dir?: string } = {}
): Effect.Effect<Harness, never, Scope.Scope> =>
  Effect.gen(function*() {
    // A directory the test gives outlives the harness (a restart is a second harness over the same store).
    const dir = options.dir ?? (yield* testDirectory)
    const auditPath = join(dir, "audit.jsonl")
    const fake = yield* makeFakeRunner
    const base = Layer.mergeAll(
      ConfigService.layerWith({ ...patch, security: { audit_log_path: auditPath, ...patch.security } }),
      Events.layer,
      fake.layer,
      Resolver.layerStatic(staticNames)
    )
    const services = Layer.merge(Approvals.layer, SharedRateLimits.layer).pipe(
      Layer.provideMerge(Layer.mergeAll(
        CircuitBreakers.layer,
        ConcurrencyLimiter.layer,
        RateLimiter.layer,
        ToolStats.layer,
        AuditLog.layer,
        ExecutionGate.layer,
        StorageLive({ configFile: undefined, cwd: dir })
      )),
      Layer.provideMerge(base)
    )
    const layer = ToolExecutorLive({ privileged: options.privileged ?? true }).pipe(
      Layer.provideMerge(ToolRegistryLive(builtinTools).pipe(Layer.provideMerge(services)))
    )
    const context = yield* Layer.build(layer).pipe(Effect.orDie)
    const events = yield* Context.get(context, Events).subscribe
    yield* fake.clear
    return {
      executor: Context.get(context, ToolExecutor),
      gate: Context.get(context, ExecutionGate),
      breakers: Context.get(context, CircuitBreakers),
      limiter: Context.get(context, ConcurrencyLimiter),
      approvals: Context.get(context, Approvals),
      fake,
      events,
      auditPath,
      store: Context.get(context, ScanStore),
      scans: Context.get(context, ScanRecorder),
      database: Context.get(context, Database),
      dir,
      context,
      audit: Effect.zipRight(
        Context.get(context, AuditLog).flush,
        Effect.sync(() => {
          const text = (() => {
            try {
              return readFileSync(auditPath, "utf8")
            } catch {
              return ""
            }
          })()
          return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as Record<string, unknown>)
        })
      )
    }
  })
