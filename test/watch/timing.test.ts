import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema, TestClock } from "effect"
import { ScheduleSpec } from "../../src/config/watch.js"
import { alertingChanges, changeCount } from "../../src/watch/alerts.js"
import { checkResolved, checkUrl } from "../../src/watch/egress.js"
import { firstRun, nextAfter, parseTiming, withJitter } from "../../src/watch/nextRun.js"
import { correlationIdOf, inputOf } from "../../src/watch/run.js"
import { nextRunAt } from "../../src/watch/Schedules.js"
import { signature, signatureHeader } from "../../src/watch/Webhooks.js"

/** The pure parts of watching: timing, alert rules, the egress list, signatures, the run's call. */

const at = (iso: string) => Date.parse(iso)
const timing = (spec: { cron?: string; interval?: number }, min = 60) =>
  parseTiming({ cron: spec.cron ?? null, interval: spec.interval ?? null }, min)

describe("schedule timing", () => {
  it("five-field cron in UTC: the first slot strictly after now, whatever was missed", () => {
    const t = Either.getOrThrow(timing({ cron: "*/15 * * * *" }))
    expect(new Date(nextAfter(t, at("2026-01-01T10:07:00Z"))).toISOString()).toBe("2026-01-01T10:15:00.000Z")
    expect(new Date(nextAfter(t, at("2026-01-01T10:15:00Z"))).toISOString()).toBe("2026-01-01T10:30:00.000Z")
    // Down for a day: the next run is the next slot, not 96 missed ones.
    expect(new Date(nextAfter(t, at("2026-01-02T10:16:00Z"))).toISOString()).toBe("2026-01-02T10:30:00.000Z")
    const nightly = Either.getOrThrow(timing({ cron: "0 3 * * 1" }))
    expect(new Date(nextAfter(nightly, at("2026-01-01T00:00:00Z"))).toISOString()).toBe("2026-01-05T03:00:00.000Z")
  })

  it("intervals run at once when created, then every interval; cron schedules wait for their slot", () => {
    const every = Either.getOrThrow(timing({ interval: 300 }))
    expect(firstRun(every, 1000)).toBe(1000)
    expect(nextAfter(every, 1000)).toBe(301_000)
    const cron = Either.getOrThrow(timing({ cron: "0 * * * *" }))
    expect(firstRun(cron, at("2026-01-01T10:07:00Z"))).toBe(at("2026-01-01T11:00:00Z"))
  })

  it("refuses six fields, bad fields, both or neither, and intervals under watch.min_interval", () => {
    expect(timing({ cron: "0 */5 * * * *" })).toEqual(Either.left(expect.stringContaining("has 6 fields; give five")))
    expect(timing({ cron: "61 * * * *" })).toEqual(Either.left(expect.stringContaining("is invalid")))
    expect(timing({})).toEqual(Either.left(expect.stringContaining("exactly one of cron")))
    expect(timing({ cron: "* * * * *", interval: 60 })).toEqual(Either.left(expect.stringContaining("exactly one of cron")))
    expect(timing({ interval: 10 })).toEqual(Either.left("interval 10 s is shorter than watch.min_interval (60 s)"))
  })

  it("jitter adds up to its seconds, drawn from Random", () => {
    expect(withJitter(1000, 10, 0)).toBe(1000)
    expect(withJitter(1000, 10, 0.5)).toBe(6000)
    expect(withJitter(1000, 10, 0.9999)).toBeLessThan(11_000)
  })

  it.effect("the next run is read from the Clock: TestClock moves it", () =>
    Effect.gen(function*() {
      const t = Either.getOrThrow(timing({ interval: 120 }))
      yield* TestClock.setTime(at("2026-03-01T00:00:00Z"))
      const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
      const next = yield* nextRunAt(t, 0, now)
      expect(new Date(next).toISOString()).toBe("2026-03-01T00:02:00.000Z")
      const jittered = yield* nextRunAt(t, 30, now)
      expect(jittered).toBeGreaterThanOrEqual(next)
      expect(jittered).toBeLessThan(next + 30_000)
    }))
})

const base = {
  a: { scanner: "nmap", complete: true },
  b: { scanner: "nmap", complete: true },
  hosts_new: [],
  hosts_gone: [],
  hosts_state_changed: [],
  ports_opened: [],
  ports_closed: [],
  ports_state_changed: [],
  services_changed: [],
  scripts_changed: [],
  hosts_unchanged: 1
}
const port = (portid: number) => ({ address: "127.0.0.1", protocol: "tcp", portid, from: "closed", to: "open" })

describe("alert rules", () => {
  it("any: every change; new_open_ports: only newly open ports; version_changes: only product and version; none: nothing", () => {
    const closedOnly = { ...base, ports_closed: [port(22)] }
    expect(changeCount(base)).toBe(0)
    expect(alertingChanges(closedOnly, "any")).toBe(1)
    expect(alertingChanges(closedOnly, "new_open_ports")).toBe(0)
    const opened = { ...base, ports_opened: [port(80)], hosts_new: [{ address: "127.0.0.2", state: "up", open_ports: ["22/tcp"] }] }
    expect(alertingChanges(opened, "new_open_ports")).toBe(2)
    const service = (field: "version" | "name") => ({
      ...base,
      services_changed: [{ address: "127.0.0.1", protocol: "tcp", portid: 22, changes: [{ field, from: "a", to: "b" }] }]
    })
    expect(alertingChanges(service("version"), "version_changes")).toBe(1)
    expect(alertingChanges(service("name"), "version_changes")).toBe(0)
    expect(alertingChanges(opened, "none")).toBe(0)
  })
})

describe("the webhook egress list", () => {
  it("address literals must be in a listed network; names must be listed exactly", () => {
    expect(Either.isRight(checkUrl("http://127.0.0.1:9/hook", ["127.0.0.1"]))).toBe(true)
    expect(Either.isRight(checkUrl("http://127.0.0.5:9/hook", ["127.0.0.0/8"]))).toBe(true)
    expect(checkUrl("http://127.0.0.1:9/hook", [])).toEqual(Either.left("127.0.0.1 is not in watch.webhook_egress"))
    expect(checkUrl("http://169.254.169.254/latest", ["hooks.example.com"])).toEqual(
      Either.left("169.254.169.254 is not in watch.webhook_egress")
    )
    expect(Either.isRight(checkUrl("https://Hooks.Example.com/x", ["hooks.example.com"]))).toBe(true)
    expect(checkUrl("https://evil-hooks.example.com/x", ["hooks.example.com"])).toEqual(
      Either.left("host evil-hooks.example.com is not in watch.webhook_egress")
    )
    expect(checkUrl("ftp://127.0.0.1/", ["127.0.0.1"])).toEqual(Either.left("scheme ftp: is not http or https"))
    expect(checkUrl("http://u:p@127.0.0.1/", ["127.0.0.1"])).toEqual(Either.left("credentials in the webhook URL are not allowed"))
  })

  it("a listed name may not resolve to loopback, link-local or unspecified addresses unless they are listed too", () => {
    expect(checkResolved("hooks.example.com", ["203.0.113.7"], ["hooks.example.com"])).toEqual(Either.void)
    expect(Either.isLeft(checkResolved("hooks.example.com", ["127.0.0.1"], ["hooks.example.com"]))).toBe(true)
    expect(Either.isLeft(checkResolved("hooks.example.com", ["169.254.169.254"], ["hooks.example.com"]))).toBe(true)
    expect(Either.isLeft(checkResolved("hooks.example.com", ["::1"], ["hooks.example.com"]))).toBe(true)
    expect(checkResolved("localhost", ["127.0.0.1"], ["localhost", "127.0.0.1"])).toEqual(Either.void)
  })
})

describe("signatures", () => {
  it("HMAC-SHA256 over the timestamp, a dot and the body, as t=…,v1=…", () => {
    // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'secret-secret-secret'
    const hex = signature("secret-secret-secret", 1_700_000_000, "{\"a\":1}")
    expect(hex).toBe("fa345d5b654e6667128855e14a4938c54b5b813699e6b72c5c4f501aa493ba92")
    expect(signatureHeader("secret-secret-secret", 1_700_000_000, "{\"a\":1}")).toBe(`t=1700000000,v1=${hex}`)
    expect(signature("secret-secret-secret", 1_700_000_001, "{\"a\":1}")).not.toBe(hex)
  })
})

describe("a scheduled run's call", () => {
  it("is the spec's call, with max_runtime as its timeout and the schedule in its correlation id", () => {
    const spec = Schema.decodeUnknownSync(ScheduleSpec)({
      name: "n",
      tool: "NmapTool",
      target: "127.0.0.1",
      args: ["-sT"],
      interval: 600,
      max_runtime: 120
    })
    expect(inputOf(spec, "config.n", "01RUN")).toEqual({
      target: "127.0.0.1",
      args: ["-sT"],
      timeout_sec: 120,
      correlation_id: "schedule.config.n.01RUN"
    })
    expect(correlationIdOf("01S", "01R")).toMatch(/^[A-Za-z0-9._:-]{1,128}$/)
  })
})
