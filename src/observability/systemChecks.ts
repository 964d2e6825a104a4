import { Effect, Ref, type Scope } from "effect"
import { readFile, statfs } from "node:fs/promises"
import * as os from "node:os"
import { monitorEventLoopDelay } from "node:perf_hooks"
import * as v8 from "node:v8"
import { ConfigService } from "../config/ConfigService.js"
import type { CheckResult, HealthCheck, HealthStatus } from "./Health.js"

/** A measurement, or why it could not be taken. */
export type Reading = { readonly percent: number } | { readonly error: string }

export interface CpuTimes {
  readonly idle: number
  readonly total: number
}

/**
 * Above a threshold a resource is degraded; halfway from the threshold to 100%
 * it is unhealthy (with the default 80: degraded from 80%, unhealthy from 90%).
 * One threshold alone would turn a busy-but-working host into a 503 and take
 * it out of a load balancer at the first spike.
 */
export const levelFor = (percent: number, threshold: number): HealthStatus =>
  percent >= threshold + (100 - threshold) / 2 ? "unhealthy" : percent >= threshold ? "degraded" : "healthy"

export const worst = (a: HealthStatus, b: HealthStatus): HealthStatus =>
  a === "unhealthy" || b === "unhealthy" ? "unhealthy" : a === "degraded" || b === "degraded" ? "degraded" : "healthy"

/** Busy share of all cores between two samples; null when no time passed. */
export const cpuPercentBetween = (previous: CpuTimes, next: CpuTimes): number | null => {
  const total = next.total - previous.total
  if (total <= 0) return null
  return Math.min(100, Math.max(0, (100 * (total - (next.idle - previous.idle))) / total))
}

/** MemAvailable counts reclaimable cache as free, unlike MemFree, so a full page cache is not reported as pressure. */
export const memoryPercentFromMeminfo = (meminfo: string): number | null => {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(meminfo)
    return match?.[1] === undefined ? null : Number(match[1])
  }
  const total = field("MemTotal")
  const available = field("MemAvailable")
  if (total === null || available === null || total === 0) return null
  return (100 * (total - available)) / total
}

/** As `df` computes it: blocks reserved for root count neither as used nor as available. */
export const diskPercentFromStatfs = (stats: { readonly blocks: number; readonly bfree: number; readonly bavail: number }): number => {
  const used = stats.blocks - stats.bfree
  const usable = used + stats.bavail
  return usable === 0 ? 0 : (100 * used) / usable
}

const round1 = (n: number) => Math.round(n * 10) / 10

export interface ResourceReadings {
  readonly cpu: Reading
  readonly memory: Reading
  readonly disk: Reading
}

/**
 * An unreadable resource is degraded, not unhealthy: the server may be fine,
 * but it can no longer tell, which operators must look at.
 */
export const assessResources = (
  readings: ResourceReadings,
  thresholds: { readonly cpu: number; readonly memory: number; readonly disk: number }
): CheckResult => {
  const parts = [
    { name: "CPU", key: "cpu_percent", reading: readings.cpu, threshold: thresholds.cpu },
    { name: "Memory", key: "memory_percent", reading: readings.memory, threshold: thresholds.memory },
    { name: "Disk", key: "disk_percent", reading: readings.disk, threshold: thresholds.disk }
  ]
  let status: HealthStatus = "healthy"
  const problems: Array<string> = []
  const metadata: Record<string, unknown> = {}
  for (const part of parts) {
    if ("error" in part.reading) {
      status = worst(status, "degraded")
      problems.push(`${part.name} usage unavailable: ${part.reading.error}`)
      metadata[part.key] = null
      continue
    }
    const percent = round1(part.reading.percent)
    metadata[part.key] = percent
    const level = levelFor(part.reading.percent, part.threshold)
    status = worst(status, level)
    if (level !== "healthy") {
      problems.push(`${part.name} usage ${level === "unhealthy" ? "critical" : "high"}: ${percent.toFixed(1)}%`)
    }
  }
  return { status, message: problems.length === 0 ? "System resources healthy" : problems.join("; "), metadata }
}

export interface ProcessReadings {
  /** p99 and max event-loop delay since the previous check, in milliseconds; null before any sample. */
  readonly eventLoopDelayP99Ms: number | null
  readonly eventLoopDelayMaxMs: number | null
  readonly heapUsedBytes: number
  readonly heapLimitBytes: number
  readonly rssBytes: number
  readonly uptimeSeconds: number
}

/** An event loop stalled for a second blocks every request and MCP message that long. */
export const EVENT_LOOP_DEGRADED_MS = 250
export const EVENT_LOOP_UNHEALTHY_MS = 1000
/** Near V8's heap limit the process spends its time in GC and then aborts. */
export const HEAP_DEGRADED_PERCENT = 75
export const HEAP_UNHEALTHY_PERCENT = 90

export const assessProcess = (r: ProcessReadings): CheckResult => {
  const heapPercent = r.heapLimitBytes === 0 ? 0 : (100 * r.heapUsedBytes) / r.heapLimitBytes
  const delay = r.eventLoopDelayP99Ms ?? 0
  const delayLevel: HealthStatus = delay >= EVENT_LOOP_UNHEALTHY_MS
    ? "unhealthy"
    : delay >= EVENT_LOOP_DEGRADED_MS
    ? "degraded"
    : "healthy"
  const heapLevel: HealthStatus = heapPercent >= HEAP_UNHEALTHY_PERCENT
    ? "unhealthy"
    : heapPercent >= HEAP_DEGRADED_PERCENT
    ? "degraded"
    : "healthy"
  const problems: Array<string> = []
  if (delayLevel !== "healthy") problems.push(`Event loop delay p99 ${delay.toFixed(0)} ms`)
  if (heapLevel !== "healthy") problems.push(`Heap usage ${heapPercent.toFixed(1)}% of limit`)
  return {
    status: worst(delayLevel, heapLevel),
    message: problems.length === 0 ? "Process is running normally" : problems.join("; "),
    metadata: {
      event_loop_delay_p99_ms: r.eventLoopDelayP99Ms === null ? null : round1(r.eventLoopDelayP99Ms),
      event_loop_delay_max_ms: r.eventLoopDelayMaxMs === null ? null : round1(r.eventLoopDelayMaxMs),
      heap_used_bytes: r.heapUsedBytes,
      heap_limit_bytes: r.heapLimitBytes,
      heap_percent: round1(heapPercent),
      rss_bytes: r.rssBytes,
      uptime_seconds: Math.round(r.uptimeSeconds),
      pid: process.pid
    }
  }
}

const errorText = (e: unknown) => e instanceof Error ? e.message : String(e)

const cpuTimesNow = (): CpuTimes =>
  os.cpus().reduce(
    (acc, cpu) => {
      const t = cpu.times
      return { idle: acc.idle + t.idle, total: acc.total + t.user + t.nice + t.sys + t.idle + t.irq }
    },
    { idle: 0, total: 0 }
  )

const readMemory: Effect.Effect<Reading> = Effect.tryPromise(() => readFile("/proc/meminfo", "utf8")).pipe(
  Effect.map(memoryPercentFromMeminfo),
  Effect.orElseSucceed(() => null),
  Effect.map((percent): Reading => percent !== null ? { percent } : { percent: (100 * (os.totalmem() - os.freemem())) / os.totalmem() })
)

const readDisk = (path: string): Effect.Effect<Reading> =>
  Effect.tryPromise(() => statfs(path)).pipe(
    Effect.map((stats): Reading => ({ percent: diskPercentFromStatfs(stats) })),
    Effect.catchAll((e) => Effect.succeed<Reading>({ error: `${path}: ${errorText(e.error)}` }))
  )

/**
 * CPU is the busy share of all cores since the previous run of this check (so
 * over one check interval), from the kernel's per-core counters; the first run
 * measures since boot. Thresholds and the disk path are read on every run, so a
 * configuration reload applies to the next round.
 */
export const systemResourcesCheck: Effect.Effect<HealthCheck, never, ConfigService> = Effect.gen(function*() {
  const config = yield* ConfigService
  const lastCpu = yield* Ref.make<CpuTimes>({ idle: 0, total: 0 })
  const readCpu = Effect.gen(function*() {
    const now = cpuTimesNow()
    const previous = yield* Ref.getAndSet(lastCpu, now)
    const percent = cpuPercentBetween(previous, now)
    return percent === null ? { error: "no CPU time elapsed since the previous check" } : { percent }
  })
  return {
    name: "system_resources",
    priority: "CRITICAL",
    run: Effect.gen(function*() {
      const { health } = yield* config.get
      const [cpu, memory, disk] = yield* Effect.all([readCpu, readMemory, readDisk(health.disk_path)], {
        concurrency: "unbounded"
      })
      const result = assessResources({ cpu, memory, disk }, {
        cpu: health.cpu_threshold,
        memory: health.memory_threshold,
        disk: health.disk_threshold
      })
      return { ...result, metadata: { ...result.metadata, disk_path: health.disk_path, cpu_count: os.cpus().length } }
    })
  }
})

/**
 * Event-loop delay is sampled continuously while the scope is open and reset
 * at each run, so each result describes the interval since the previous one.
 */
export const processHealthCheck: Effect.Effect<HealthCheck, never, Scope.Scope> = Effect.gen(function*() {
  const histogram = yield* Effect.acquireRelease(
    Effect.sync(() => {
      const h = monitorEventLoopDelay({ resolution: 20 })
      h.enable()
      return h
    }),
    (h) => Effect.sync(() => h.disable())
  )
  return {
    name: "process_health",
    priority: "IMPORTANT",
    run: Effect.sync(() => {
      const sampled = histogram.count > 0
      const readings: ProcessReadings = {
        eventLoopDelayP99Ms: sampled ? histogram.percentile(99) / 1e6 : null,
        eventLoopDelayMaxMs: sampled ? histogram.max / 1e6 : null,
        heapUsedBytes: v8.getHeapStatistics().used_heap_size,
        heapLimitBytes: v8.getHeapStatistics().heap_size_limit,
        rssBytes: process.memoryUsage.rss(),
        uptimeSeconds: process.uptime()
      }
      histogram.reset()
      return assessProcess(readings)
    })
  }
})

/** The checks every server runs, whatever else the wiring adds. */
export const builtinChecks: Effect.Effect<ReadonlyArray<HealthCheck>, never, ConfigService | Scope.Scope> = Effect.all([
  systemResourcesCheck,
  processHealthCheck
])
