import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Layer, Option, Queue, Ref, TestClock } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { Events } from "../../src/events/Events.js"
import { type CheckResult, Health, type HealthCheck, type HealthStatus, type Priority, statusCode } from "../../src/observability/Health.js"
import { aggregate, HealthLive, makeHealth } from "../../src/observability/HealthLive.js"

const env = (health: { check_interval?: number; staleness_seconds?: number } = {}) =>
  Layer.merge(Events.layer, ConfigService.layerWith({ health }))

const fixed = (name: string, priority: Priority, status: HealthStatus): HealthCheck => ({
  name,
  priority,
  run: Effect.succeed({ status, message: `${name} is ${status}` })
})

describe("aggregate", () => {
  const c = (priority: Priority, status: HealthStatus, stale = false) => ({ priority, status, stale })
  const table: ReadonlyArray<[string, ReadonlyArray<ReturnType<typeof c>>, HealthStatus]> = [
    ["no checks", [], "healthy"],
    ["all healthy", [c("CRITICAL", "healthy"), c("IMPORTANT", "healthy"), c("INFORMATIONAL", "healthy")], "healthy"],
    ["critical unhealthy", [c("CRITICAL", "unhealthy"), c("IMPORTANT", "healthy")], "unhealthy"],
    ["critical degraded", [c("CRITICAL", "degraded")], "degraded"],
    ["important unhealthy", [c("CRITICAL", "healthy"), c("IMPORTANT", "unhealthy")], "degraded"],
    ["important degraded", [c("IMPORTANT", "degraded")], "degraded"],
    ["informational unhealthy", [c("CRITICAL", "healthy"), c("INFORMATIONAL", "unhealthy")], "healthy"],
    ["critical beats important", [c("IMPORTANT", "unhealthy"), c("CRITICAL", "unhealthy")], "unhealthy"],
    ["stale critical healthy", [c("CRITICAL", "healthy", true)], "degraded"],
    ["stale critical unhealthy", [c("CRITICAL", "unhealthy", true)], "unhealthy"],
    ["stale important healthy", [c("IMPORTANT", "healthy", true)], "degraded"],
    ["stale informational", [c("INFORMATIONAL", "healthy", true)], "healthy"]
  ]
  for (const [name, checks, expected] of table) {
    it(name, () => expect(aggregate(checks)).toBe(expected))
  }

  it("maps statuses to HTTP codes", () => {
    expect([statusCode("healthy"), statusCode("degraded"), statusCode("unhealthy")]).toEqual([200, 207, 503])
  })
})

describe("makeHealth", () => {
  it.scoped("reports every check with the spec's shape and summary", () =>
    Effect.gen(function*() {
      const health = yield* makeHealth({
        transport: "http",
        checks: [fixed("a", "CRITICAL", "healthy"), fixed("b", "IMPORTANT", "degraded"), fixed("c", "INFORMATIONAL", "unhealthy")]
      })
      const report = yield* health.report
      expect(report.status).toBe("degraded")
      expect(report.transport).toBe("http")
      expect(report.summary).toEqual({ total_checks: 3, healthy_checks: 1, degraded_checks: 1, unhealthy_checks: 1 })
      expect(report.checks["b"]).toEqual({
        status: "degraded",
        message: "b is degraded",
        metadata: {},
        priority: "IMPORTANT",
        checked_at: new Date(0).toISOString(),
        duration_ms: 0,
        stale: false
      })
    }).pipe(Effect.provide(env())))

  it.scoped("re-runs the checks in the background every check_interval; report never runs them", () =>
    Effect.gen(function*() {
      const runs = yield* Queue.unbounded<number>()
      const count = yield* Ref.make(0)
      const counting: HealthCheck = {
        name: "counting",
        priority: "CRITICAL",
        run: Ref.updateAndGet(count, (n) => n + 1).pipe(
          Effect.tap((n) => Queue.offer(runs, n)),
          Effect.as<CheckResult>({ status: "healthy", message: "ok" })
        )
      }
      const health = yield* makeHealth({ transport: "stdio", checks: [counting] })
      expect(yield* Queue.take(runs)).toBe(1)
      yield* health.report
      yield* health.report
      expect(yield* Ref.get(count)).toBe(1)

      yield* TestClock.adjust(Duration.seconds(9))
      expect(Option.isNone(yield* Queue.poll(runs))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Queue.take(runs)).toBe(2)
      yield* TestClock.adjust(Duration.seconds(10))
      expect(yield* Queue.take(runs)).toBe(3)
      const report = yield* health.report
      expect(report.checks["counting"]?.checked_at).toBe(new Date(20_000).toISOString())
    }).pipe(Effect.provide(env({ check_interval: 10 }))))

  it.scoped("flags results older than staleness_seconds and degrades a stale critical check", () =>
    Effect.gen(function*() {
      const health = yield* makeHealth({
        transport: "stdio",
        checks: [fixed("sys", "CRITICAL", "healthy"), fixed("info", "INFORMATIONAL", "healthy")]
      })
      expect((yield* health.report).status).toBe("healthy")
      yield* TestClock.adjust(Duration.seconds(60))
      expect((yield* health.report).checks["sys"]?.stale).toBe(false)
      yield* TestClock.adjust(Duration.seconds(1))
      const report = yield* health.report
      expect(report.checks["sys"]).toMatchObject({ status: "healthy", stale: true })
      expect(report.checks["info"]?.stale).toBe(true)
      expect(report.status).toBe("degraded")
      expect((yield* health.refresh).status).toBe("healthy")
    }).pipe(Effect.provide(env({ check_interval: 300, staleness_seconds: 60 }))))

  it.scoped("reports a hung check as unhealthy after the timeout without holding up the others", () =>
    Effect.gen(function*() {
      const hung: HealthCheck = { name: "hung", priority: "CRITICAL", run: Effect.never }
      const stubborn: HealthCheck = {
        name: "stubborn",
        priority: "IMPORTANT",
        run: Effect.uninterruptible(Effect.sleep(Duration.hours(1))).pipe(Effect.as<CheckResult>({ status: "healthy", message: "late" }))
      }
      const health = yield* makeHealth({
        transport: "stdio",
        checks: [hung, stubborn, fixed("fine", "CRITICAL", "healthy")],
        checkTimeout: Duration.seconds(5)
      })
      const pending = yield* Effect.fork(health.report)
      yield* TestClock.adjust(Duration.seconds(5))
      const report = yield* Fiber.join(pending)
      expect(report.status).toBe("unhealthy")
      expect(report.checks["hung"]).toMatchObject({ status: "unhealthy", message: "Check did not complete within 5s", duration_ms: 5000 })
      expect(report.checks["stubborn"]).toMatchObject({ status: "unhealthy" })
      expect(report.checks["fine"]).toMatchObject({ status: "healthy" })
    }).pipe(Effect.provide(env({ check_interval: 300 }))))

  it.scoped("reports a crashing check as unhealthy", () =>
    Effect.gen(function*() {
      const crashing: HealthCheck = { name: "crash", priority: "IMPORTANT", run: Effect.die(new Error("kaput")) }
      const report = yield* Effect.flatMap(makeHealth({ transport: "stdio", checks: [crashing] }), (h) => h.report)
      expect(report.status).toBe("degraded")
      expect(report.checks["crash"]?.status).toBe("unhealthy")
      expect(report.checks["crash"]?.message).toContain("kaput")
    }).pipe(Effect.provide(env())))

  it.scoped("publishes health.changed when the overall status changes", () =>
    Effect.gen(function*() {
      const events = yield* Events
      const subscription = yield* events.subscribe
      const state = yield* Ref.make<HealthStatus>("healthy")
      const flipping: HealthCheck = {
        name: "flip",
        priority: "CRITICAL",
        run: Effect.map(Ref.get(state), (status): CheckResult => ({ status, message: status }))
      }
      const health = yield* makeHealth({ transport: "stdio", checks: [flipping] })
      yield* health.report
      expect(yield* Queue.take(subscription)).toMatchObject({ type: "health.changed", from: "starting", to: "healthy" })

      yield* health.refresh
      expect(yield* Queue.size(subscription)).toBe(0)

      yield* Ref.set(state, "unhealthy")
      expect((yield* health.refresh).status).toBe("unhealthy")
      expect(yield* Queue.take(subscription)).toMatchObject({ type: "health.changed", from: "healthy", to: "unhealthy" })

      yield* Ref.set(state, "degraded")
      yield* TestClock.adjust(Duration.seconds(30))
      expect(yield* Queue.take(subscription)).toMatchObject({ type: "health.changed", from: "unhealthy", to: "degraded" })
    }).pipe(Effect.provide(env({ check_interval: 30 }))))
})

describe("HealthLive", () => {
  it.scoped("runs the built-in system checks plus the wiring's extra checks", () =>
    Effect.gen(function*() {
      const report = yield* Effect.flatMap(Health, (h) => h.report)
      expect(Object.keys(report.checks).sort()).toEqual(["extra", "process_health", "system_resources"])
      expect(report.checks["system_resources"]?.priority).toBe("CRITICAL")
      expect(report.checks["system_resources"]?.metadata).toHaveProperty("memory_percent")
      expect(report.checks["process_health"]?.priority).toBe("IMPORTANT")
      expect(report.checks["process_health"]?.metadata).toHaveProperty("heap_used_bytes")
      expect(report.summary.total_checks).toBe(3)
    }).pipe(
      Effect.provide(
        HealthLive({ transport: "http", extraChecks: Effect.succeed([fixed("extra", "INFORMATIONAL", "healthy")]) }).pipe(
          Layer.provide(env())
        )
      )
    ))
})
