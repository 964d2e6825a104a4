import { describe, expect, it } from "@effect/vitest"
import { attachmentName } from "../../src/ui/console/download.js"
import { argTokens, scheduleBody, timingText } from "../../src/ui/console/forms.js"
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
    expect(parseRoute(href.approval("01A"))).toEqual({ view: "approvals", id: "01A" })
    expect(parseRoute(href.approvals)).toEqual({ view: "approvals" })
    const scans = parseRoute(href.scans({ outcome: "failed" }))
    expect(scans.view === "scans" && scans.params.get("outcome")).toBe("failed")
    expect(parseRoute("")).toEqual({ view: "dashboard" })
    expect(parseRoute("#/nowhere")).toEqual({ view: "dashboard" })
  })
})

describe("console forms and downloads", () => {
  it("sends a schedule as typed: argument tokens split on whitespace, empty fields left to the server, one timing", () => {
    const fields = {
      name: " nightly ",
      tool: "NmapTool",
      target: "127.0.0.1",
      args: "  -sT   -p 22,80 ",
      engagement: "",
      timing: "interval" as const,
      interval: "3600",
      cron: "0 3 * * *"
    }
    expect(scheduleBody(fields)).toEqual({
      name: "nightly",
      tool: "NmapTool",
      target: "127.0.0.1",
      args: ["-sT", "-p", "22,80"],
      interval: 3600
    })
    expect(scheduleBody({ ...fields, args: "", engagement: "lab", timing: "cron" })).toEqual({
      name: "nightly",
      tool: "NmapTool",
      target: "127.0.0.1",
      engagement: "lab",
      cron: "0 3 * * *"
    })
    expect(argTokens("a;b  $(x)")).toEqual(["a;b", "$(x)"])
    expect([3600, 120, 45].map((interval) => timingText({ cron: null, interval }))).toEqual(["every 1 h", "every 2 min", "every 45 s"])
    expect(timingText({ cron: "0 3 * * *", interval: null })).toBe("cron 0 3 * * * (UTC)")
  })

  it("saves a download under the server's file name, never a path, or the fallback", () => {
    expect(attachmentName("inline; filename=\"scan-01H.md\"", "x")).toBe("scan-01H.md")
    expect(attachmentName("attachment; filename=scan-01H-hosts.csv", "x")).toBe("scan-01H-hosts.csv")
    expect(attachmentName("attachment; filename=\"../../etc/passwd\"", "x")).toBe("_.._etc_passwd")
    expect(attachmentName("attachment", "fallback.md")).toBe("fallback.md")
    expect(attachmentName(null, "fallback.md")).toBe("fallback.md")
  })

  it("keeps the audit and schedules views in the fragment, with the audit filters", () => {
    const audit = parseRoute(href.audit({ caller: "ops", q: "ftp-brute" }))
    expect(audit.view === "audit" && [audit.params.get("caller"), audit.params.get("q")]).toEqual(["ops", "ftp-brute"])
    expect(parseRoute(href.schedules)).toEqual({ view: "schedules" })
    expect(parseRoute(href.schedule("01J/x"))).toEqual({ view: "schedules", id: "01J/x" })
  })
})
