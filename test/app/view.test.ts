import { describe, expect, it } from "@effect/vitest"
import { viewOf } from "../../src/ui/app/view.js"

/** Which screen the viewer shows for a tool result (pure: the browser test renders real ones). */

const run = { hosts: [] }
const diff = { ports_opened: [], ports_closed: [] }

describe("the scan viewer's view of a tool result", () => {
  it("a NmapTool result is a scan, with its summary text and stored scan id", () => {
    const result = {
      content: [{ type: "text", text: "1 host up" }, { type: "resource_link", uri: "scan://X" }],
      structuredContent: { result: run, execution: { scan_id: "01ABC" } }
    }
    expect(viewOf(result)).toEqual({ kind: "scan", run, summary: "1 host up", scanId: "01ABC" })
    expect(viewOf({ structuredContent: { result: run, execution: { scan_id: null } } })).toMatchObject({ scanId: null, summary: "" })
  })

  it("a ScanDiff result is a diff", () => {
    const comparison = { from: {}, to: {}, diff, summary: "" }
    expect(viewOf({ content: [], structuredContent: { comparison } })).toEqual({ kind: "diff", comparison })
  })

  it("a failed call shows what its text says to do, whatever its structured content", () => {
    const failed = {
      content: [{ type: "text", text: "TargetRejected: 8.8.8.8 is outside the allowed ranges" }],
      structuredContent: { error: { _tag: "TargetRejected" } },
      isError: true
    }
    expect(viewOf(failed)).toEqual({ kind: "error", message: "TargetRejected: 8.8.8.8 is outside the allowed ranges" })
    expect(viewOf({ isError: true })).toEqual({ kind: "error", message: "The tool call failed." })
  })

  it("a result of another shape (a tool without a parser) is shown as its text", () => {
    expect(viewOf({ content: [{ type: "text", text: "a" }, { type: "text", text: "b" }], structuredContent: { result: null } }))
      .toEqual({ kind: "text", text: "a\n\nb" })
    expect(viewOf({ structuredContent: { comparison: { diff: {} } } })).toEqual({ kind: "text", text: "" })
  })
})
