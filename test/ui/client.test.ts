import { describe, expect, it } from "@effect/vitest"
import { href, parseRoute } from "../../src/ui/console/route.js"
import { parseFrames } from "../../src/ui/console/sse.js"

describe("console client", () => {
  it("reads SSE frames across chunk boundaries; comments carry no event", () => {
    const first = parseFrames(": connected\n\nevent: a\ndata: {\"x\":1}\n\nevent: b\ndata: {\"x\"")
    expect(first).toEqual({ data: ["{\"x\":1}"], rest: "event: b\ndata: {\"x\"" })
    const second = parseFrames(`${first.rest}:2}\r\n\r\n: heartbeat\n\n`)
    expect(second).toEqual({ data: ["{\"x\":2}"], rest: "" })
  })

  it("keeps its place in the fragment, a CIDR target included", () => {
    expect(parseRoute(href.history("127.0.0.0/30"))).toEqual({ view: "history", target: "127.0.0.0/30" })
    expect(parseRoute(href.diff("A", "B"))).toEqual({ view: "diff", from: "A", to: "B" })
    expect(parseRoute(href.scan("01H"))).toEqual({ view: "scan", id: "01H" })
    const scans = parseRoute(href.scans({ outcome: "failed" }))
    expect(scans.view === "scans" && scans.params.get("outcome")).toBe("failed")
    expect(parseRoute("")).toEqual({ view: "dashboard" })
    expect(parseRoute("#/nowhere")).toEqual({ view: "dashboard" })
  })
})
