import { describe, expect, it } from "@effect/vitest"
import { targetOf } from "./throughput.js"

describe("throughput targets", () => {
  it("are twice the Python system's figure on a machine as fast as the issue's, and scale with bare node:http", () => {
    expect(targetOf("rejected", 1, 11321).min).toBe(7576)
    expect(targetOf("rejected", 16, 59373).min).toBe(9878)
    expect(targetOf("rejected", 1, 11321 / 2).min).toBe(3788)
    expect(targetOf("health", 16, 66236 * 1.5).min).toBe(21153)
  })

  it("keep half a bare node:http for /health at 1 connection, whatever the speed", () => {
    expect(targetOf("health", 1, 1234)).toEqual({ on: "ratio", min: 0.5, source: "issue 19: half a bare node:http" })
  })
})
