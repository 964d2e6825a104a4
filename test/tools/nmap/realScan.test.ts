import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { nmapSpec, nmapUnprivileged } from "../../../src/tools/nmap/spec.js"
import { closingServer, listen, run, specArgv } from "../support.js"

// Scans only a listener this test starts on 127.0.0.1; -n comes from the spec's fixed arguments.
describe("nmap against a loopback listener", () => {
  it.scoped("finds the listener's port open and the next one closed", () =>
    Effect.gen(function*() {
      const { port } = yield* listen(closingServer())
      const closed = port === 65535 ? port - 1 : port + 1
      const argv = specArgv(nmapSpec, ["-sT", "-p", `${port},${closed}`], "127.0.0.1")
      expect(argv).toContain("-n")
      const out = yield* run(nmapSpec.binary, argv)
      expect(out.code).toBe(0)
      const { data, summary } = nmapSpec.parse!(out.stdout, out.stderr)
      expect(data.complete).toBe(true)
      const ports = data.hosts[0]?.ports ?? []
      expect(ports.find((p) => p.portid === port)?.state).toBe("open")
      expect(summary).toContain(`${port}/tcp open`)
      expect(data.runstats?.hosts).toEqual({ up: 1, down: 0, total: 1 })
    }), { timeout: 60_000 })

  it.scoped("runs the unprivileged rewrite of a SYN scan as it would without root", () =>
    Effect.gen(function*() {
      const { port } = yield* listen(closingServer())
      const { args, notes } = nmapUnprivileged(["-sS", "-p", String(port)])
      expect(notes).toHaveLength(1)
      const out = yield* run(nmapSpec.binary, specArgv(nmapSpec, args, "127.0.0.1"))
      const { data } = nmapSpec.parse!(out.stdout, out.stderr)
      expect(data.scaninfo[0]?.type).toBe("connect")
      expect(data.hosts[0]?.ports[0]).toMatchObject({ portid: port, state: "open" })
    }), { timeout: 60_000 })
})
