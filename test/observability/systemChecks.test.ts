import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import {
  assessProcess,
  assessResources,
  cpuPercentBetween,
  diskPercentFromStatfs,
  levelFor,
  memoryPercentFromMeminfo,
  processHealthCheck,
  systemResourcesCheck
} from "../../src/observability/systemChecks.js"

const thresholds = { cpu: 80, memory: 80, disk: 80 }

describe("resource levels", () => {
  it("is degraded from the threshold and unhealthy from halfway to 100%", () => {
    expect(levelFor(79.9, 80)).toBe("healthy")
    expect(levelFor(80, 80)).toBe("degraded")
    expect(levelFor(89.9, 80)).toBe("degraded")
    expect(levelFor(90, 80)).toBe("unhealthy")
    expect(levelFor(60, 50)).toBe("degraded")
    expect(levelFor(75, 50)).toBe("unhealthy")
  })

  it("words the result as the spec's examples do", () => {
    expect(assessResources({ cpu: { percent: 25.5 }, memory: { percent: 45.2 }, disk: { percent: 60 } }, thresholds)).toEqual({
      status: "healthy",
      message: "System resources healthy",
      metadata: { cpu_percent: 25.5, memory_percent: 45.2, disk_percent: 60 }
    })
    expect(assessResources({ cpu: { percent: 10 }, memory: { percent: 85 }, disk: { percent: 10 } }, thresholds))
      .toMatchObject({ status: "degraded", message: "Memory usage high: 85.0%" })
    expect(assessResources({ cpu: { percent: 92 }, memory: { percent: 85 }, disk: { percent: 10 } }, thresholds))
      .toMatchObject({ status: "unhealthy", message: "CPU usage critical: 92.0%; Memory usage high: 85.0%" })
  })

  it("degrades when a resource cannot be read", () => {
    expect(assessResources({ cpu: { percent: 1 }, memory: { percent: 1 }, disk: { error: "/nope: ENOENT" } }, thresholds))
      .toMatchObject({ status: "degraded", message: "Disk usage unavailable: /nope: ENOENT", metadata: { disk_percent: null } })
  })
})

describe("readings", () => {
  it("computes CPU busy share between samples", () => {
    expect(cpuPercentBetween({ idle: 100, total: 200 }, { idle: 175, total: 300 })).toBe(25)
    expect(cpuPercentBetween({ idle: 0, total: 0 }, { idle: 0, total: 0 })).toBeNull()
  })

  it("uses MemAvailable from /proc/meminfo", () => {
    const meminfo = "MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\n"
    expect(memoryPercentFromMeminfo(meminfo)).toBe(75)
    expect(memoryPercentFromMeminfo("MemTotal: 10 kB\n")).toBeNull()
  })

  it("computes disk usage as df does", () => {
    expect(diskPercentFromStatfs({ blocks: 100, bfree: 30, bavail: 20 })).toBeCloseTo(77.78, 2)
    expect(diskPercentFromStatfs({ blocks: 0, bfree: 0, bavail: 0 })).toBe(0)
  })

  it("assesses the process from event-loop delay and heap", () => {
    const base = { eventLoopDelayMaxMs: 30, heapUsedBytes: 10, heapLimitBytes: 100, rssBytes: 1, uptimeSeconds: 5 }
    expect(assessProcess({ ...base, eventLoopDelayP99Ms: 21 })).toMatchObject({ status: "healthy", message: "Process is running normally" })
    expect(assessProcess({ ...base, eventLoopDelayP99Ms: null }).status).toBe("healthy")
    expect(assessProcess({ ...base, eventLoopDelayP99Ms: 300 })).toMatchObject({
      status: "degraded",
      message: "Event loop delay p99 300 ms"
    })
    expect(assessProcess({ ...base, eventLoopDelayP99Ms: 1500 }).status).toBe("unhealthy")
    expect(assessProcess({ ...base, eventLoopDelayP99Ms: 1, heapUsedBytes: 95 })).toMatchObject({
      status: "unhealthy",
      message: "Heap usage 95.0% of limit"
    })
  })
})

describe("live checks", () => {
  it.scoped("measure this machine", () =>
    Effect.gen(function*() {
      const system = yield* systemResourcesCheck
      const first = yield* system.run
      expect(system).toMatchObject({ name: "system_resources", priority: "CRITICAL" })
      for (const key of ["cpu_percent", "memory_percent", "disk_percent"]) {
        const value = first.metadata?.[key]
        expect(typeof value).toBe("number")
        expect(value as number).toBeGreaterThanOrEqual(0)
        expect(value as number).toBeLessThanOrEqual(100)
      }
      const proc = yield* processHealthCheck
      const result = yield* proc.run
      expect(proc.priority).toBe("IMPORTANT")
      expect(result.metadata?.["heap_used_bytes"]).toBeGreaterThan(0)
      expect(result.metadata?.["pid"]).toBe(process.pid)
    }).pipe(Effect.provide(ConfigService.layerWith())))

  it.effect("reports an unreadable disk path", () =>
    Effect.gen(function*() {
      const result = yield* Effect.flatMap(systemResourcesCheck, (c) => c.run)
      expect(result.message).toContain("Disk usage unavailable: /definitely/not/here")
      expect(result.status).not.toBe("healthy")
    }).pipe(Effect.provide(ConfigService.layerWith({ health: { disk_path: "/definitely/not/here" } }))))
})
