import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import { Effect, Layer } from "effect"
import { ConfigLive, type ConfigSource, type LoadedConfig } from "../config/ConfigLive.js"
import { Events } from "../events/Events.js"
import { ExecutionGate } from "../execution/ExecutionGate.js"
import { ToolExecutorLive } from "../execution/ToolExecutorLive.js"
import { auditHealthCheck, AuditLog } from "../observability/AuditLog.js"
import type { HealthCheck } from "../observability/Health.js"
import { HealthLive } from "../observability/HealthLive.js"
import { LoggerLive, LogLevelFollowsConfig } from "../observability/Logger.js"
import { ToolStats } from "../observability/ToolStats.js"
import { Resolver } from "../policy/Resolver.js"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import { ConcurrencyLimiter } from "../resilience/ConcurrencyLimiter.js"
import { RateLimiter } from "../resilience/RateLimiter.js"
import { ProcessRunnerLive } from "../runner/ProcessRunnerLive.js"
import { Startup } from "../startup.js"
import { Approvals } from "../storage/Approvals.js"
import { Database } from "../storage/Database.js"
import { SharedRateLimits } from "../storage/SharedRateLimits.js"
import { StorageLive } from "../storage/StorageLive.js"
import { builtinTools } from "../tools/builtins.js"
import { ToolRegistry, ToolRegistryLive } from "../tools/ToolRegistry.js"
import type { ToolSpec } from "../tools/ToolSpec.js"
import { WatchLive } from "../watch/WatchLive.js"
import { LazyMetricsExporter } from "./lazyMetrics.js"

/** Circuit breakers open → degraded: the server works, one tool does not. */
const breakerCheck: Effect.Effect<HealthCheck, never, CircuitBreakers> = Effect.map(CircuitBreakers, (breakers) => ({
  name: "circuit_breakers",
  priority: "IMPORTANT",
  run: Effect.map(breakers.snapshot, (all) => {
    const open = all.filter((b) => b.state !== "CLOSED")
    return {
      status: open.length === 0 ? "healthy" : "degraded",
      message: open.length === 0 ? "all circuits closed" : `open circuits: ${open.map((b) => `${b.tool} (${b.state})`).join(", ")}`,
      metadata: Object.fromEntries(all.map((b) => [b.tool, b.state]))
    } as const
  })
}))

/** Missing optional tool binaries are worth knowing about but do not make the server unhealthy. */
const toolsCheck: Effect.Effect<HealthCheck, never, ToolRegistry> = Effect.map(ToolRegistry, (registry) => ({
  name: "tool_availability",
  priority: "INFORMATIONAL",
  run: Effect.map(registry.all, (tools) => {
    const missing = tools.filter((t) => t.path === null)
    return {
      status: missing.length === 0 ? "healthy" : "degraded",
      message: missing.length === 0
        ? `${tools.length} tools available`
        : `unavailable: ${missing.map((t) => `${t.spec.name} (${t.unavailableReason})`).join(", ")}`,
      metadata: Object.fromEntries(tools.map((t) => [t.spec.name, { available: t.path !== null, enabled: t.enabled, version: t.version }]))
    } as const
  })
}))

/** The scan store: IMPORTANT, since a store that cannot be written loses scans (the calls still return their results). */
const storageCheck: Effect.Effect<HealthCheck, never, Database> = Effect.map(Database, (db) => db.health)

export const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0

/**
 * Every service both programs share, composed once. The configuration
 * loaded at start-up decides what cannot change at run time (log format and
 * file, custom tools) and is where `ConfigService` starts; everything else
 * is read from `ConfigService` live. The scan store's default directory is
 * `data/` beside the config file (or under the working directory).
 */
export const coreLayer = (source: ConfigSource, loaded: LoadedConfig, transport: string, custom: ReadonlyArray<ToolSpec<any>>) => {
  // The logger first: every fiber forked while the layers below are built logs with it (Logger.ts says why).
  const base = Layer.mergeAll(Events.layer, NodeFileSystem.layer, Startup.layer).pipe(
    Layer.provideMerge(LoggerLive(loaded.config))
  )
  const config = ConfigLive(source, loaded).pipe(Layer.provideMerge(base))
  const services = Layer.mergeAll(
    ProcessRunnerLive,
    Resolver.layer(),
    CircuitBreakers.layer,
    ConcurrencyLimiter.layer,
    RateLimiter.layer,
    ToolStats.layer,
    AuditLog.layer,
    ExecutionGate.layer,
    LogLevelFollowsConfig,
    LazyMetricsExporter,
    StorageLive({ configFile: source.file })
  ).pipe(Layer.provideMerge(config))
  const storage = Layer.merge(Approvals.layer, SharedRateLimits.layer).pipe(Layer.provideMerge(services))
  const registry = ToolRegistryLive([...builtinTools, ...custom]).pipe(Layer.provideMerge(storage))
  const executor = ToolExecutorLive({ privileged: isRoot() }).pipe(Layer.provideMerge(registry))
  const watch = WatchLive.pipe(Layer.provideMerge(executor))
  const health = HealthLive({
    transport,
    extraChecks: Effect.all([breakerCheck, toolsCheck, auditHealthCheck, storageCheck])
  }).pipe(Layer.provideMerge(watch))
  return health
}
