import { describe, expect, it } from "@effect/vitest"
import { switchSteps } from "../../src/execution/switches.js"
import type { ToolSwitch } from "../../src/storage/OperatorState.js"

const stored = (tool: string, enabled: boolean | null, circuit: "open" | null): ToolSwitch => ({
  tool,
  enabled,
  circuit,
  updated_at: "2026-12-03T12:00:00.000Z",
  updated_by: "ops"
})

describe("switchSteps: what another instance changed", () => {
  it("nothing when the stored switches are those applied", () => {
    const applied = new Map([["NmapTool", { enabled: false, circuit: "open" as const }]])
    expect(switchSteps(applied, [stored("NmapTool", false, "open")])).toEqual([])
    expect(switchSteps(new Map(), [])).toEqual([])
  })

  it("a tool switched off or on, a breaker held open or let go, a switch removed", () => {
    const applied = new Map([
      ["NmapTool", { enabled: true, circuit: null }],
      ["DigTool", { enabled: null, circuit: "open" as const }],
      ["PingTool", { enabled: false, circuit: "open" as const }]
    ])
    expect(switchSteps(applied, [stored("NmapTool", false, null), stored("MasscanTool", null, "open")])).toEqual([
      { tool: "NmapTool", enabled: false, circuit: undefined },
      // Its row is gone: the breaker is let go; an enabled state back to null leaves the tool as it is.
      { tool: "DigTool", enabled: undefined, circuit: "closed" },
      { tool: "PingTool", enabled: undefined, circuit: "closed" },
      { tool: "MasscanTool", enabled: undefined, circuit: "open" }
    ])
  })
})
