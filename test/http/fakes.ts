import { HttpServer } from "@effect/platform"
import { Context, Deferred, Effect, Layer, Ref, type Scope } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { request as httpRequest } from "node:http"
import { connect, type Socket } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigService, type DeepPartial } from "../../src/config/ConfigService.js"
import type { AppConfig } from "../../src/config/schema.js"
import {
  ArgumentRejected,
  CircuitOpen,
  type ExecutionError,
  IntrusiveNotAllowed,
  InvalidInput,
  RateLimited,
  SpawnFailed,
  TargetRejected,
  ToolBusy,
  ToolDisabled,
  ToolNotFound
} from "../../src/errors.js"
import { Events } from "../../src/events/Events.js"
import { ExecutionGate } from "../../src/execution/ExecutionGate.js"
import { MalformedBody } from "../../src/execution/input.js"
import { type ExecutionResult, ToolExecutor, type ToolInfo } from "../../src/execution/ToolExecutor.js"
import { sha256Hex } from "../../src/http/auth.js"
import { HttpServerLive } from "../../src/http/HttpServerLive.js"
import { type Caller } from "../../src/identity/Caller.js"
import { AuditLog } from "../../src/observability/AuditLog.js"
import { Health, type HealthReport, type HealthStatus } from "../../src/observability/Health.js"
import { MetricsExporter } from "../../src/observability/MetricsExporter.js"
import { Approvals } from "../../src/storage/Approvals.js"
import { DATABASE_FILE } from "../../src/storage/backend.js"
import { Database } from "../../src/storage/Database.js"
import { ScanRecorder } from "../../src/storage/ScanRecorder.js"
import { ScheduleStore } from "../../src/storage/ScheduleStore.js"
import { StorageLive } from "../../src/storage/StorageLive.js"
import { Schedules } from "../../src/watch/Schedules.js"
import { Webhooks } from "../../src/watch/Webhooks.js"
import { tempDir } from "../support/shims.js"

/**
 * A fake executor whose NmapTool answers by cue in `target`: `ok` (or any
 * other) a canned success, `timeout` a timed-out process, `progress` three
 * progress reports then success, `slow` sleeps until interrupted (recorded),
 * and `rejected` / `badarg` / `intrusive` / `invalid` / `ratelimited` /
 * `circuit` / `busy` / `spawnfail` fail with the matching typed error.
 */

export const info = { name: "security-mcp-server", version: "0.0.0-test" }

/** Output schema with a `$ref`, so the MCP wrapper's `$defs` hoisting is exercised by the real client's validator. */
export const nmapOutputSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $defs: { Host: { type: "object", required: ["address"], properties: { address: { type: "string" } } } },
  type: "object",
  required: ["hosts"],
  properties: { hosts: { type: "array", items: { $ref: "#/$defs/Host" } } }
}

const toolInfo = (name: string, enabled: boolean): ToolInfo => ({
  name,
  title: `${name} title`,
  description: `${name} description`,
  enabled,
  available: true,
  unavailableReason: null,
  version: "7.93",
  binary: "nmap",
  intrusive: false,
  target: "network",
  templates: [],
  flags: [],
  keyFlags: [],
  timeoutSeconds: 300,
  concurrency: 2,
  circuitState: "CLOSED",
  stats: {
    total: 0,
    active: 0,
    successRate: null,
    latencySeconds: { p50: null, p95: null, p99: null },
    errorsByType: {},
    timeouts: 0,
    window: 0
  },
  inputSchema: {
    type: "object",
    required: ["target"],
    properties: { target: { type: "string" }, extra_args: { type: "string" } }
  },
  outputSchema: name === "NmapTool" ? nmapOutputSchema : null,
  annotations: { title: `${name} title`, readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true }
})

export const resultFor = (tool: string, target: string, overrides: Partial<ExecutionResult> = {}): ExecutionResult => ({
  tool,
  stdout: "<nmaprun/>",
  stderr: "",
  returncode: 0,
  signal: null,
  truncated_stdout: false,
  truncated_stderr: false,
  timed_out: false,
  error: null,
  error_type: null,
  execution_time: 0.05,
  correlation_id: "corr-1",
  metadata: { target, resolved_target: target, argv: ["nmap", "-n", target], intrusive: false, notes: [] },
  structured: { hosts: [{ address: target }] },
  summary: `1 host up: ${target}`,
  scan_id: null,
  ...overrides
})

const failure = (target: string): ExecutionError | undefined => {
  switch (target) {
    case "rejected":
      return new TargetRejected({ target, rule: "not-in-allowed-ranges", message: "Target is outside the allowed ranges" })
    case "badarg":
      return new ArgumentRejected({ token: "--evil", rule: "flag-not-allowed", message: "Flag --evil is not allowed" })
    case "intrusive":
      return new IntrusiveNotAllowed({ token: "-A", message: "Intrusive operations are disabled" })
    case "invalid":
      return new InvalidInput({ message: "Invalid input", issues: ["target is missing"] })
    case "ratelimited":
      return new RateLimited({ scope: "client", retryAfterSeconds: 6.2, message: "Too many requests" })
    case "circuit":
      return new CircuitOpen({ tool: "NmapTool", retryAfterSeconds: 30, message: "Circuit open" })
    case "busy":
      return new ToolBusy({ tool: "NmapTool", message: "All slots busy" })
    case "spawnfail":
      return new SpawnFailed({ command: "nmap", message: "spawn failed" })
    default:
      return undefined
  }
}

export interface Fake {
  readonly calls: Ref.Ref<ReadonlyArray<{ readonly tool: string; readonly input: unknown; readonly caller: Caller }>>
  /** Completes with the caller id when a `slow` execution is interrupted. */
  readonly interrupted: Deferred.Deferred<string>
  /** Completes when a `slow` execution has started. */
  readonly started: Deferred.Deferred<void>
  readonly health: Ref.Ref<HealthStatus>
}

/**
 * The scan store behind the fakes: disabled (nothing is stored, the scan
 * routes answer 503) unless a directory is given, then a real SQLite store
 * in it. It reads a configuration of its own, so the fake layer needs none.
 */
export const fakeStorage = (directory?: string) =>
  StorageLive({ configFile: undefined }).pipe(
    Layer.provide(ConfigService.layerWith({ storage: directory === undefined ? { enabled: false } : { path: directory } }))
  )

export const makeFakeWith = (options: { readonly storageDirectory?: string } = {}) =>
  Effect.gen(function*() {
    const fake: Fake = {
      calls: yield* Ref.make<Fake["calls"] extends Ref.Ref<infer A> ? A : never>([]),
      interrupted: yield* Deferred.make<string>(),
      started: yield* Deferred.make<void>(),
      health: yield* Ref.make<HealthStatus>("healthy")
    }
    const tools = yield* Ref.make(new Map([["NmapTool", toolInfo("NmapTool", true)], ["PingTool", toolInfo("PingTool", false)]]))

    const executorLayer = Layer.effect(
      ToolExecutor,
      Effect.gen(function*() {
        const events = yield* Events
        return {
          list: Effect.map(Ref.get(tools), (map) => [...map.values()]),
          execute: (tool, input, caller, options) =>
            Effect.gen(function*() {
              yield* Ref.update(fake.calls, (calls) => [...calls, { tool, input, caller }])
              const known = (yield* Ref.get(tools)).get(tool)
              if (known === undefined) return yield* new ToolNotFound({ tool, message: `Unknown tool ${tool}` })
              if (!known.enabled) return yield* new ToolDisabled({ tool, message: `${tool} is disabled` })
              // Like the real executor: a body that was not JSON is malformed input.
              if (input instanceof MalformedBody) return yield* input.error
              const target = typeof input === "object" && input !== null && "target" in input ? String(input.target) : ""
              const error = failure(target)
              if (error !== undefined) return yield* error
              if (target === "timeout") {
                return resultFor(tool, target, {
                  returncode: null,
                  signal: "SIGKILL",
                  timed_out: true,
                  error: "Timed out after 1 s",
                  error_type: "timeout",
                  stderr: "nmap: giving up",
                  structured: null
                })
              }
              if (target === "progress") {
                for (const step of [1, 2, 3]) {
                  yield* options?.onProgress?.({ progress: step, total: 3, message: `step ${step}` }) ?? Effect.void
                }
              }
              if (target === "slow") {
                yield* Deferred.succeed(fake.started, undefined)
                yield* Effect.sleep("60 seconds").pipe(Effect.onInterrupt(() => Deferred.succeed(fake.interrupted, caller.id)))
              }
              return resultFor(tool, target)
            }),
          setEnabled: (tool, enabled) =>
            Effect.gen(function*() {
              const known = (yield* Ref.get(tools)).get(tool)
              if (known === undefined) return yield* new ToolNotFound({ tool, message: `Unknown tool ${tool}` })
              const updated = { ...known, enabled }
              yield* Ref.update(tools, (map) => new Map(map).set(tool, updated))
              yield* events.publish({ type: enabled ? "tool.enabled" : "tool.disabled", tool })
              return updated
            }),
          setCircuit: (tool, state) =>
            Effect.gen(function*() {
              const known = (yield* Ref.get(tools)).get(tool)
              if (known === undefined) return yield* new ToolNotFound({ tool, message: `Unknown tool ${tool}` })
              const updated: ToolInfo = { ...known, circuitState: state === "open" ? "OPEN" : "CLOSED" }
              yield* Ref.update(tools, (map) => new Map(map).set(tool, updated))
              return updated
            }),
          awaitApproval: () => Effect.void
        }
      })
    )

    const healthLayer = Layer.succeed(Health, {
      report: Effect.map(Ref.get(fake.health), reportFor),
      refresh: Effect.map(Ref.get(fake.health), reportFor)
    })
    const metricsLayer = Layer.succeed(MetricsExporter, {
      scrape: Effect.succeed(
        "# HELP mcp_tool_executions_total Executions\n# TYPE mcp_tool_executions_total counter\nmcp_tool_executions_total 3\n"
      )
    })
    // Approvals are not stored here (REST approvals are tested against the real executor and store).
    const approvalsLayer = Approvals.layer.pipe(Layer.provide(Layer.merge(Database.disabled, AuditLog.layer)))
    const storage = fakeStorage(options.storageDirectory)
    // Real schedules over the fake store and executor; nothing runs them here (the scheduler is tested in test/watch).
    const schedulesLayer = Schedules.layer.pipe(Layer.provide(Layer.mergeAll(executorLayer, storage, AuditLog.layer)))
    const webhooksLayer = Webhooks.layer.pipe(Layer.provide(storage))
    return {
      fake,
      layer: Layer.mergeAll(
        executorLayer,
        healthLayer,
        metricsLayer,
        approvalsLayer,
        ExecutionGate.layer,
        storage,
        schedulesLayer,
        AuditLog.layer,
        webhooksLayer
      ).pipe(
        Layer.provideMerge(Events.layer)
      )
    }
  })

export const makeFake = makeFakeWith()

const reportFor = (status: HealthStatus): HealthReport => ({
  status,
  timestamp: "2024-01-15T10:30:00Z",
  transport: "http",
  checks: {
    system_resources: {
      status,
      message: `System resources ${status}`,
      priority: "CRITICAL",
      checked_at: "2024-01-15T10:30:00Z",
      duration_ms: 1,
      stale: false
    }
  },
  summary: {
    total_checks: 1,
    healthy_checks: status === "healthy" ? 1 : 0,
    degraded_checks: status === "degraded" ? 1 : 0,
    unhealthy_checks: status === "unhealthy" ? 1 : 0
  }
})

export const keys = {
  admin: "admin-key-0123456789",
  executor: "exec-key-0123456789"
}

/** Both test keys stored as hashes, with auth required even on loopback. */
export const authPatch = {
  auth: {
    require_auth: true,
    api_keys: [
      {
        id: "admin",
        sha256: sha256Hex(keys.admin),
        scopes: ["execute", "intrusive", "admin", "approve", "schedule"] as const,
        engagements: ["lab"]
      },
      { id: "exec", sha256: sha256Hex(keys.executor), scopes: ["execute"] as const }
    ]
  }
}

export interface Started {
  readonly fake: Fake
  readonly port: number
  readonly base: string
  readonly events: Events["Type"]
  /** The server's approvals, in a SQLite store of the test's own. */
  readonly approvals: Approvals["Type"]
  /** The server's drain switch: `gate.drain(…)` makes it behave as after SIGTERM. */
  readonly gate: ExecutionGate["Type"]
  /** The scan store's writer (disabled unless the server was started with `storage: true`). */
  readonly scans: ScanRecorder["Type"]
  /** The schedule store (dead letters, schedules), in the same store as `scans`. */
  readonly scheduleStore: ScheduleStore["Type"]
}

/** A private directory for the test's scan store, removed with the scope. */
export const storageDirectory: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "fake-store-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The real HTTP server on 127.0.0.1:0 with the fakes behind it, for the scope of a test; `storage` keeps scans in SQLite. */
export const startServer = (
  patch: DeepPartial<typeof AppConfig.Encoded> = {},
  options: { readonly storage?: boolean; readonly storagePath?: string } = {}
): Effect.Effect<Started, never, Scope.Scope> =>
  Effect.gen(function*() {
    const storage = options.storagePath !== undefined
      ? { storageDirectory: options.storagePath }
      : options.storage === true
      ? { storageDirectory: yield* storageDirectory }
      : {}
    const { fake, layer } = yield* makeFakeWith(storage)
    const config = ConfigService.layerWith({ ...patch, server: { host: "127.0.0.1", port: 0, ...patch.server } })
    const dir = yield* tempDir("rest-approvals")
    const database = Database.layer({ _tag: "sqlite", directory: join(dir, "data"), file: join(dir, "data", DATABASE_FILE) })
    const stored = yield* Layer.build(
      Approvals.layer.pipe(Layer.provide(Layer.mergeAll(database, AuditLog.layer, Events.layer)), Layer.provide(config))
    )
    const context = yield* Layer.build(
      HttpServerLive(info).pipe(Layer.provideMerge(Layer.succeedContext(stored)), Layer.provideMerge(layer), Layer.provide(config))
    ).pipe(Effect.orDie)
    const server = yield* HttpServer.HttpServer.pipe(Effect.provide(context))
    const events = yield* Events.pipe(Effect.provide(context))
    const gate = yield* ExecutionGate.pipe(Effect.provide(context))
    const scans = yield* ScanRecorder.pipe(Effect.provide(context))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    const scheduleStore = yield* ScheduleStore.pipe(Effect.provide(context))
    return {
      fake,
      port,
      base: `http://127.0.0.1:${port}`,
      events,
      approvals: Context.get(stored, Approvals),
      gate,
      scans,
      scheduleStore
    }
  })

/** Opens `count` connections to the server that send nothing (they count against server.max_connections), closed with the scope. */
export const idleConnections = (port: number, count: number): Effect.Effect<ReadonlyArray<Socket>, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() =>
      Promise.all(Array.from({ length: count }, () =>
        new Promise<Socket>((resolve) => {
          const socket = connect(port, "127.0.0.1", () => resolve(socket))
          socket.on("error", () => undefined)
        })))
    ),
    (sockets) => Effect.sync(() => sockets.forEach((socket) => socket.destroy()))
  )

/** A raw HTTP answer: its status, every header but the date (which differs between requests), the body. */
export interface RawAnswer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: string
}

/** One request on its own connection, answered as it was written on the wire. */
export const sendRaw = (port: number, method: string, path: string, headers: Record<string, string>, body?: string) =>
  Effect.async<RawAnswer>((resume) => {
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (chunk) => (text += chunk))
      res.on("end", () => {
        const { date: _date, ...rest } = res.headers
        resume(Effect.succeed({ status: res.statusCode ?? 0, headers: rest, body: text }))
      })
    })
    req.on("error", (error) => resume(Effect.die(error)))
    req.end(body)
  })
