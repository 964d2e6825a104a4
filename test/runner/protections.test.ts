import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import {
  bestEffortNotes,
  findWrappers,
  fixFor,
  limitsUnavailable,
  missingProtections,
  protectionReport
} from "../../src/runner/protections.js"

const all = { prlimit: Option.some("/usr/bin/prlimit"), setpriv: Option.some("/usr/bin/setpriv") }
const none = { prlimit: Option.none(), setpriv: Option.none() }

describe("protections of tool processes", () => {
  it.effect("finds util-linux's wrappers in the system directories, and nothing under names that do not exist", () =>
    Effect.gen(function*() {
      const found = yield* findWrappers()
      expect(Option.getOrNull(found.prlimit)).toMatch(/\/prlimit$/)
      expect(Option.getOrNull(found.setpriv)).toMatch(/\/setpriv$/)
      expect(yield* findWrappers({ prlimit: "no-such-prlimit", setpriv: "no-such-setpriv" })).toEqual(none)
    }))

  it("reports four protections, each held or not, once", () => {
    expect(protectionReport(all).map((line) => line.held)).toEqual([true, true, true, true])
    const lines = protectionReport(none)
    expect(lines.map((line) => line.held)).toEqual([false, false, true, true])
    expect(lines[0]!.text).toBe("kernel resource limits: prlimit (util-linux) not found")
    expect(lines[1]!.text).toBe("parent-death signal: setpriv (util-linux) not found")
  })

  it("names what is missing, the fix, and under best effort only the fix that restores it", () => {
    expect(missingProtections(all)).toEqual([])
    const missing = missingProtections({ ...all, setpriv: Option.none() })
    expect(missing.map((m) => m.protection)).toEqual(["parent_death_signal"])
    expect(fixFor(missing)).toContain("security.resource_limits: best_effort")
    expect(fixFor(missing, "best_effort")).not.toContain("best_effort")
    expect(fixFor(missing)).toContain(process.platform === "linux" ? "apt-get install util-linux" : "Linux only")
    const error = limitsUnavailable("/usr/bin/nmap", missingProtections(none))
    expect(error._tag).toBe("ResourceLimitsUnavailable")
    expect(error.missing).toEqual(["resource_limits", "parent_death_signal"])
    expect(error.message).toMatch(/^\/usr\/bin\/nmap was not started: prlimit not found \(.*\); setpriv not found \(.*\)\. Fix: /)
    expect(bestEffortNotes(missing)).toEqual([
      "security.resource_limits is best_effort and setpriv was not found: no parent-death signal (the watchdog still kills the tool if the server dies)"
    ])
  })
})
