import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { parseTraceroute, summarizeTraceroute, tracerouteSpec } from "../../src/tools/traceroute.js"
import { fixture, run, specArgv } from "./support.js"

describe("parseTraceroute", () => {
  it("reads hops, addresses and times up to the destination", () => {
    const r = parseTraceroute(fixture("traceroute/two-hops.txt"))
    expect(r).toEqual({
      destination: "10.203.2.2",
      max_hops: 5,
      hops: [
        {
          hop: 1,
          probes: [{ address: "10.203.1.2", rtt_ms: 0.206 }, { address: "10.203.1.2", rtt_ms: 0.008 }, {
            address: "10.203.1.2",
            rtt_ms: 0.007
          }]
        },
        {
          hop: 2,
          probes: [{ address: "10.203.2.2", rtt_ms: 0.235 }, { address: "10.203.2.2", rtt_ms: 0.011 }, {
            address: "10.203.2.2",
            rtt_ms: 0.009
          }]
        }
      ],
      reached: true
    })
    expect(summarizeTraceroute(r)).toBe([
      "traceroute to 10.203.2.2: 2 hops, reached",
      "1 10.203.1.2 0.206ms 0.008ms 0.007ms",
      "2 10.203.2.2 0.235ms 0.011ms 0.009ms"
    ].join("\n"))
  })

  it("keeps unanswered probes and an unreached destination", () => {
    const r = parseTraceroute(fixture("traceroute/unreachable.txt"))
    expect(r.reached).toBe(false)
    expect(r.hops.map((h) => h.probes.length)).toEqual([2, 2, 2])
    expect(r.hops[1]?.probes).toEqual([{}, {}])
    expect(summarizeTraceroute(r)).toBe([
      "traceroute to 10.203.2.9: 3 hops, destination not reached",
      "1 10.203.1.2 0.081ms 0.008ms",
      "2 * *",
      "3 * *"
    ].join("\n"))
    expect(parseTraceroute(fixture("traceroute/timeouts.txt")).reached).toBe(true)
  })

  it("reads several addresses on one hop and unreachable marks", () => {
    const r = parseTraceroute(
      "traceroute to 10.0.0.9 (10.0.0.9), 30 hops max, 60 byte packets\n 1  10.0.0.1  0.5 ms 10.0.0.2  0.7 ms *\n 2  10.0.0.1  3.0 ms !H  3.1 ms !H *\n"
    )
    expect(r.hops[0]?.probes).toEqual([{ address: "10.0.0.1", rtt_ms: 0.5 }, { address: "10.0.0.2", rtt_ms: 0.7 }, {}])
    expect(r.hops[1]?.probes).toEqual([
      { address: "10.0.0.1", rtt_ms: 3, annotation: "!H" },
      { address: "10.0.0.1", rtt_ms: 3.1, annotation: "!H" },
      {}
    ])
  })
})

describe("tracerouteSpec", () => {
  it.effect("traces 127.0.0.1 for real", () =>
    Effect.gen(function*() {
      const out = yield* run(tracerouteSpec.binary, specArgv(tracerouteSpec, ["-m", "2", "-q", "1"], "127.0.0.1"))
      expect(out.code).toBe(0)
      const { data } = tracerouteSpec.parse!(out.stdout, out.stderr)
      expect(data.reached).toBe(true)
      expect(data.hops[0]?.probes[0]?.address).toBe("127.0.0.1")
    }), { timeout: 30_000 })

  it("drops raw-socket probe types when not root", () => {
    expect(tracerouteSpec.unprivileged!(["-I", "-m", "5", "--tcp", "-U"])).toEqual({
      args: ["-m", "5", "-U"],
      notes: [
        "-I dropped (ICMP echo probes): it needs raw sockets and traceroute is not running as root; UDP probes used instead",
        "--tcp dropped (TCP SYN probes): it needs raw sockets and traceroute is not running as root; UDP probes used instead"
      ]
    })
  })
})
