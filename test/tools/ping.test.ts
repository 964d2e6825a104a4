import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { parsePing, pingSpec, summarizePing } from "../../src/tools/ping.js"
import { fixture, run, specArgv } from "./support.js"

describe("parsePing", () => {
  it("reads replies, counts and round-trip statistics", () => {
    const r = parsePing(fixture("ping/reply.txt"))
    expect(r).toEqual({
      destination: "127.0.0.1",
      transmitted: 3,
      received: 3,
      duplicates: 0,
      errors: 0,
      loss_percent: 0,
      time_ms: 407,
      rtt_ms: { min: 0.034, avg: 0.05, max: 0.072, mdev: 0.016 },
      replies: [
        { from: "127.0.0.1", seq: 1, ttl: 64, time_ms: 0.034 },
        { from: "127.0.0.1", seq: 2, ttl: 64, time_ms: 0.072 },
        { from: "127.0.0.1", seq: 3, ttl: 64, time_ms: 0.044 }
      ],
      messages: []
    })
    expect(summarizePing(r)).toBe("127.0.0.1: 3/3 replies, 0% loss, rtt min/avg/max/mdev 0.034/0.05/0.072/0.016 ms, ttl 64")
  })

  it("reads quiet output and a host that never answers", () => {
    expect(parsePing(fixture("ping/quiet.txt"))).toMatchObject({ transmitted: 2, received: 2, replies: [] })
    const silent = parsePing(fixture("ping/no-reply.txt"))
    expect(silent).toMatchObject({ destination: "10.203.2.2", transmitted: 2, received: 0, loss_percent: 100, rtt_ms: undefined })
    expect(summarizePing(silent)).toBe("10.203.2.2: 0/2 replies, 100% loss")
  })

  it("keeps ICMP errors and counts", () => {
    const r = parsePing([
      "PING 10.0.0.9 (10.0.0.9) 56(84) bytes of data.",
      "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable",
      "",
      "--- 10.0.0.9 ping statistics ---",
      "2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1001ms",
      ""
    ].join("\n"))
    expect(r).toMatchObject({ errors: 2, loss_percent: 100, messages: ["From 10.0.0.1 icmp_seq=1 Destination Host Unreachable"] })
    expect(summarizePing(r)).toBe("10.0.0.9: 0/2 replies, 100% loss, 2 errors\nFrom 10.0.0.1 icmp_seq=1 Destination Host Unreachable")
  })
})

describe("pingSpec", () => {
  it.effect("pings 127.0.0.1 for real, the caller's -c overriding the fixed count", () =>
    Effect.gen(function*() {
      const out = yield* run(pingSpec.binary, specArgv(pingSpec, ["-c", "1", "-W", "1"], "127.0.0.1"))
      expect(out.code).toBe(0)
      const { data } = pingSpec.parse!(out.stdout, out.stderr)
      expect(data).toMatchObject({ destination: "127.0.0.1", transmitted: 1, received: 1 })
    }), { timeout: 30_000 })

  it("counts exit code 1 (no reply) as a result", () => {
    expect(pingSpec.okExitCodes).toEqual([1])
  })
})
