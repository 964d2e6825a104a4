import { describe, expect, it } from "@effect/vitest"
import { pingSpec } from "../../src/tools/ping.js"
import { defaultResultLimits, runStream } from "../../src/tools/stream.js"
import { fixture } from "./support.js"

describe("buffered stream parsers of line-oriented tools", () => {
  it("parse what was fed, in any chunks, like the whole output at once", () => {
    const out = fixture("ping/reply.txt")
    const whole = pingSpec.parse!(out, "")
    const chunked = runStream(pingSpec.stream!(defaultResultLimits), out.split(/(?<=\n)/), { partial: false })
    expect(chunked).toEqual(whole)
  })

  it("say when the run was cut and when output passed results.max_bytes", () => {
    const out = fixture("ping/reply.txt")
    const { summary } = runStream(pingSpec.stream!({ ...defaultResultLimits, maxBytes: 40 }), [out], {
      partial: true,
      reason: "cancelled by the caller"
    })
    expect(summary).toContain("PARTIAL: cancelled by the caller; the result holds what was read")
    expect(summary).toContain("output past results.max_bytes (40 bytes) was not parsed")
  })
})
