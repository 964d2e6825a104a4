import { describe, expect, it } from "@effect/vitest"
import { masscanSpec } from "../../src/tools/masscan.js"
import { fixture } from "./support.js"

// masscan needs root and a real interface (not loopback); open.xml was captured between two network namespaces.
describe("masscanSpec", () => {
  it("is intrusive as a whole and writes XML to stdout", () => {
    expect(masscanSpec.intrusive).toBe(true)
    expect(masscanSpec.fixedArgs.slice(0, 2)).toEqual(["-oX", "-"])
    const rate = masscanSpec.flags.find((f) => f.name === "--rate")
    expect(rate?.value).toEqual({ _tag: "Int", min: 1, max: 1000 })
  })

  it("parses its XML with the nmap parser", () => {
    const { data, summary } = masscanSpec.parse!(fixture("masscan/open.xml"), "rate:  0.00-kpps, 100.00% done")
    expect(data.hosts[0]?.ports[0]).toMatchObject({ portid: 18080, protocol: "tcp", state: "open" })
    expect(data.warnings).toEqual([])
    expect(summary).toBe("masscan 1.0-BETA: 1 host up, 0 down of 1 scanned in 3s; 1 open port on 1 host\n10.203.0.2: 18080/tcp open")
  })

  it("reads progress from its status line", () => {
    expect(
      masscanSpec.progress!(
        "rate:  0.10-kpps, 12.50% done,   0:00:07 remaining, found=0   rate:  0.10-kpps, 50.00% done,   0:01:02 remaining"
      )
    )
      .toEqual({ percent: 50, remainingSeconds: 62 })
    expect(masscanSpec.progress!("Starting masscan 1.3.2")).toBeUndefined()
  })
})
