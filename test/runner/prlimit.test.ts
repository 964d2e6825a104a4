import { describe, expect, it } from "@effect/vitest"
import { prlimitArgv } from "../../src/runner/prlimit.js"

describe("prlimitArgv", () => {
  it("wraps the command with the limits and a -- separator", () => {
    expect(
      prlimitArgv("/usr/bin/prlimit", { addressSpaceBytes: 536870912, openFiles: 256, cpuSeconds: 300 }, "/usr/bin/nmap", [
        "-n",
        "--",
        "-x"
      ])
    )
      .toEqual([
        "/usr/bin/prlimit",
        "--as=536870912",
        "--nofile=256:256",
        "--core=0",
        "--cpu=300:301",
        "--",
        "/usr/bin/nmap",
        "-n",
        "--",
        "-x"
      ])
  })

  it("rounds fractional limits up and never emits zero (which would mean no CPU at all)", () => {
    expect(prlimitArgv("p", { addressSpaceBytes: 0.5, openFiles: 0, cpuSeconds: 2.1 }, "c", []).slice(1, 5))
      .toEqual(["--as=1", "--nofile=1:1", "--core=0", "--cpu=3:4"])
  })
})
