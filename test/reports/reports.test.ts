import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { Schema } from "effect"
import type { Approval } from "../../src/Approval.js"
import { Engagement, engagementHash } from "../../src/policy/Engagement.js"
import { approvalOf } from "../../src/reports/approvalMatch.js"
import { diffDocument } from "../../src/reports/diffReport.js"
import { csvCell, exportCsv, ScanExport, scanExport } from "../../src/reports/exports.js"
import { historyDocument } from "../../src/reports/historyReport.js"
import { renderHtml } from "../../src/reports/html.js"
import { renderMarkdown } from "../../src/reports/markdown.js"
import { scanDocument } from "../../src/reports/scanReport.js"
import { compareRecords } from "../../src/results/compare.js"
import { nmapXml, xmlEscape } from "../tools/nmap/generate.js"
import { contextOf, fixture, foreignMarkup, HOSTILE, recordOf } from "./support.js"

/** The reports and exports of stored scans, from real nmap output (test/fixtures/nmap) and hostile generated output. */

const AT = "2026-12-01T12:00:00.000Z"

const both = (doc: Parameters<typeof renderMarkdown>[0]) => ({ md: renderMarkdown(doc), html: renderHtml(doc) })

const scanReportOf = (xml: string, overrides = {}) => {
  const { record, run } = recordOf(xml, overrides)
  return both(scanDocument({ context: contextOf(record), run, generatedAt: AT }))
}

/** The Markdown with its code spans and fenced blocks taken out: what a renderer reads as text and markup. */
const outsideCode = (md: string) => md.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, "").replace(/(`+)[^`][\s\S]*?\1/g, "")

const hostileXml = nmapXml([{
  address: "127.0.0.1",
  open: [22, 80],
  service: `product="${xmlEscape(HOSTILE)}" version="=cmd|' /C calc'!A0" method="probed" conf="10"`,
  script: { id: "banner", output: HOSTILE }
}])

describe("the report of a scan", () => {
  it("of real -sV -O --script output: hosts, ports, services and versions, scripts, OS, totals", () => {
    const { html, md } = scanReportOf(fixture("service.xml"))
    expect(md).toContain("| `127.0.0.1` | `localhost` | up (localhost-response) | 18080/tcp |")
    expect(md).toContain("| 18080/tcp | open | syn-ack | `http` | `SimpleHTTPServer 0.6 (Python 3.11.7)` |")
    expect(md).toContain("| 22/tcp | closed | reset | `ssh` |")
    expect(md).toContain("**18080/tcp** script `http-title`\n\n```text\nDirectory listing for /\n```")
    expect(md).toContain("`Linux 5.0 - 5.2 (96%)`")
    expect(md).toContain("- **Open ports:** 1")
    expect(md).toContain("- **Hosts:** 1 reported, 1 up, 0 down (nmap: 1 up of 1)")
    expect(md).not.toContain("Warning")
    expect(html).toContain("<td><code>SimpleHTTPServer 0.6 (Python 3.11.7)</code></td>")
    expect(html).toContain("<pre>Directory listing for /</pre>")
    expect(foreignMarkup(html)).toEqual([])
  })

  it("says when the result is not the whole truth: partial, cut by a bound, truncated, failed", () => {
    expect(scanReportOf(fixture("truncated.xml")).md).toContain("> **Warning:** partial result: the report ended before \\</nmaprun\\>")
    const failed = scanReportOf(fixture("connect.xml"), {
      outcome: "timed_out",
      timed_out: true,
      error: "timed out after 5 s",
      truncated_stdout: true
    })
    expect(failed.md).toContain("> **Warning:** the scan ended timed\\_out: timed out after 5 s")
    expect(failed.md).toContain("> **Warning:** the tool was stopped at its timeout")
    expect(failed.md).toContain("> **Warning:** the stored raw output was truncated")
    const { record, run } = recordOf(fixture("connect.xml"))
    const dropped = {
      ...run,
      dropped: {
        limit: "max_hosts" as const,
        max_hosts: 1,
        max_bytes: 1e6,
        hosts_seen: 3,
        hosts_kept: 1,
        hosts_dropped: 2,
        hosts_up_dropped: 2,
        open_ports_dropped: 4,
        first_address: "127.0.0.2",
        last_address: "127.0.0.3"
      }
    }
    expect(renderMarkdown(scanDocument({ context: contextOf(record), run: dropped, generatedAt: AT }))).toContain(
      "results bound max\\_hosts reached: 2 hosts (2 up, 4 open ports) are counted but not in this report, from 127.0.0.2 to 127.0.0.3"
    )
  })

  it("a hostile banner, version and script output stay text in Markdown and HTML", () => {
    const { html, md } = scanReportOf(hostileXml)
    expect(foreignMarkup(html)).toEqual([])
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&#39;&amp;amp;")
    expect(html).not.toMatch(/<script|<img/i)
    const text = outsideCode(md)
    expect(text).not.toMatch(/(^|[^\\])[<[&]/m)
    expect(text).not.toContain("javascript:alert(3))")
    // every table row of the port table keeps its five cells
    for (const row of md.split("\n").filter((line) => /^\| \d+\/tcp/.test(line))) {
      expect(row.replace(/\\\|/g, "").split("|").length - 2).toBe(5)
    }
  })

  it("a tool without a host and port result shows its summary", () => {
    const { record } = recordOf(fixture("connect.xml"), { tool: "PingTool", structured: null, summary: "127.0.0.1 answered 3 of 3 <b>" })
    const md = renderMarkdown(scanDocument({ context: contextOf(record), run: undefined, generatedAt: AT }))
    expect(md).toContain("PingTool has no host and port result; its summary:\n\n```text\n127.0.0.1 answered 3 of 3 <b>\n```")
  })
})

const lab = Schema.decodeUnknownSync(Engagement)({ name: "lab", targets: ["127.0.0.0/8"], approval: "intrusive" })

const approval = (overrides: Partial<Approval> = {}): Approval => ({
  approval_id: "01JFAPPROVAL00000000000001",
  status: "used",
  tool: "NmapTool",
  target: "127.0.0.1",
  resolved_target: "127.0.0.1",
  argv: ["nmap", "-oX", "-", "-n", "-sT", "127.0.0.1"],
  intrusive: true,
  intrusive_reasons: ["--script vuln"],
  engagement: "lab",
  engagement_hash: engagementHash(lab),
  requested_by: "exec",
  requested_at: "2026-11-26T05:30:00.000Z",
  expires_at: "2026-11-26T06:30:00.000Z",
  decided_by: "alice",
  decided_at: "2026-11-26T05:32:00.000Z",
  reason: "in the lab window",
  used_at: "2026-11-26T05:34:04.900Z",
  correlation_id: "c",
  digest: "d",
  ...overrides
})

describe("the appendix", () => {
  const engaged = { engagement: "lab", engagement_hash: engagementHash(lab), intrusive: true, notes: ["rate capped at 100 pps"] }

  it("names the engagement, its scope hash and whether it changed, the approval with requester and approver, and the policy notes", () => {
    const { record, run } = recordOf(fixture("connect.xml"), engaged)
    const context = contextOf(record, { approval: approval(), engagement: lab })
    const md = renderMarkdown(scanDocument({ context, run, generatedAt: AT }))
    const appendix = md.slice(md.indexOf("## Appendix"))
    expect(appendix).toContain("- **Engagement:** `lab`")
    expect(appendix).toContain(`- **Scope hash at the scan:** \`${engagementHash(lab)}\``)
    expect(appendix).toContain("- **Scope now:** unchanged since the scan")
    expect(appendix).toContain("- **In scope:** `127.0.0.0/8`")
    expect(appendix).toContain("- **Approval:** `01JFAPPROVAL00000000000001`")
    expect(appendix).toContain("- **Requested by:** `exec` at 2026-11-26T05:30:00.000Z")
    expect(appendix).toContain("- **Approved by:** `alice` at 2026-11-26T05:32:00.000Z")
    expect(appendix).toContain("- **Intrusive:** yes")
    expect(appendix).toContain("Policy notes:\n\n- rate capped at 100 pps")
    const changed = renderMarkdown(
      scanDocument({ context: contextOf(record, { engagement: { ...lab, exclude: ["127.0.0.9"] } }), run, generatedAt: AT })
    )
    expect(changed).toContain("- **Scope now:** changed since the scan, now `")
    expect(renderMarkdown(scanDocument({ context: contextOf(record, { approvalsRead: false }), run, generatedAt: AT }))).toContain(
      "- **Approval:** approvals could not be read now"
    )
  })

  it("finds the approval a scan ran under: the used one covering its call, used last before it started", () => {
    const { record } = recordOf(fixture("connect.xml"), engaged)
    const older = approval({ approval_id: "A1", used_at: "2026-11-26T05:00:00.000Z" })
    const right = approval({ approval_id: "A2" })
    const later = approval({ approval_id: "A3", used_at: "2026-11-26T06:00:00.000Z" })
    expect(approvalOf(record, [older, right, later])?.approval_id).toBe("A2")
    expect(approvalOf(record, [older])?.approval_id).toBe("A1")
    for (
      const other of [
        approval({ requested_by: "someone-else" }),
        approval({ argv: ["nmap", "-oX", "-", "-n", "-sV", "127.0.0.1"] }),
        approval({ status: "approved", used_at: null }),
        approval({ resolved_target: "127.0.0.2" }),
        approval({ engagement_hash: "0".repeat(64) }),
        later
      ]
    ) expect(approvalOf(record, [other])).toBeUndefined()
    expect(approvalOf({ ...record, engagement: null, engagement_hash: null }, [right])).toBeUndefined()
  })
})

const scanOf = (open: ReadonlyArray<number>, overrides = {}, extra: { service?: string; script?: string } = {}) =>
  recordOf(
    nmapXml([{
      address: "127.0.0.1",
      open,
      ...(extra.service ? { service: extra.service } : {}),
      ...(extra.script ? { script: { id: "banner", output: extra.script } } : {})
    }]),
    overrides
  )

describe("the report of a diff", () => {
  it.effect("lists what opened, closed and changed, with the appendix of both scans", () =>
    Effect.gen(function*() {
      const a = scanOf([22, 80], {}, { service: "product=\"OpenSSH\" version=\"9.0\"", script: "SSH-2.0-OpenSSH_9.0" })
      const b = scanOf([22, 443], {}, { service: "product=\"OpenSSH\" version=\"9.2\"", script: "SSH-2.0-OpenSSH_9.2 <b>" })
      const comparison = yield* compareRecords(a.record, b.record, 500)
      const { html, md } = both(diffDocument({ comparison, from: contextOf(a.record), to: contextOf(b.record), generatedAt: AT }))
      expect(md).toContain(`- **From (earlier):** \`${a.record.scan_id}\``)
      expect(md).toContain(
        "## Ports opened (1)\n\n| Host | Port | Now | Before | Service |\n| --- | --- | --- | --- | --- |\n| `127.0.0.1` | 443/tcp | open | unknown | `unknown OpenSSH 9.2` |"
      )
      expect(md).toContain("## Ports closed (1)")
      expect(md).toContain("| `127.0.0.1` | 80/tcp | unknown | open |")
      expect(md).toContain("| `127.0.0.1` | 22/tcp | version | `9.0` | `9.2` |")
      expect(md).toContain(
        "`127.0.0.1` 22/tcp script `banner` **changed**\n\nBefore:\n\n```text\nSSH-2.0-OpenSSH_9.0\n```\n\nAfter:\n\n```text\nSSH-2.0-OpenSSH_9.2 <b>\n```"
      )
      expect(md).toContain(`### Scan ${a.record.scan_id}`)
      expect(md).toContain(`### Scan ${b.record.scan_id}`)
      expect(foreignMarkup(html)).toEqual([])
      const same = yield* compareRecords(a.record, a.record, 500)
      expect(renderMarkdown(diffDocument({ comparison: same, from: contextOf(a.record), to: contextOf(a.record), generatedAt: AT })))
        .toContain(
          "Nothing changed between the two scans."
        )
    }))
})

describe("the report of a target's history", () => {
  it("shows each scan oldest first, compared with the previous scan of the same configuration, and where the target stands", () => {
    const first = scanOf([22], { started_at: "2026-11-01T00:00:00.000Z" })
    const other = scanOf([8080], { started_at: "2026-11-02T00:00:00.000Z", args: ["-sT", "-p", "8080"] })
    const second = scanOf([22, 80], { started_at: "2026-11-03T00:00:00.000Z" })
    const third = scanOf([80], { started_at: "2026-11-04T00:00:00.000Z" })
    const failed = scanOf([], { started_at: "2026-11-05T00:00:00.000Z", outcome: "failed" })
    const items = [failed, third, second, other, first].map(({ record, run }) => ({ context: contextOf(record), run }))
    const { html, md } = both(historyDocument({ target: "127.0.0.1", items, more: true, generatedAt: AT }))
    const rows = md.split("\n").filter((line) => line.startsWith("| 2026-11-0"))
    expect(rows.map((row) => row.split(" | ").slice(3).join(" | "))).toEqual([
      "succeeded | 1 | 1 | first of its configuration |",
      "succeeded | 1 | 1 | first of its configuration |",
      "succeeded | 1 | 2 | +1 opened |",
      "succeeded | 1 | 1 | -1 closed |",
      "failed | 1 | 0 | not compared |"
    ])
    expect(md).toContain("## Changes at 2026-11-04T00:00:00.000Z")
    expect(md).toContain("## Where it stands now\n\nAs of scan `" + third.record.scan_id + "` (2026-11-04T00:00:00.000Z):")
    expect(md).toContain("| `127.0.0.1` | 80/tcp |")
    expect(md).toContain("> **Warning:** only the 5 newest scans are in this report")
    expect(md).toContain("| Scan | Key | Engagement | Scope hash | Approval | Requested by | Approved by | Policy notes |")
    expect(foreignMarkup(html)).toEqual([])
    expect(renderMarkdown(historyDocument({ target: "127.0.0.0/24", items: [], more: false, generatedAt: AT }))).toContain(
      "No stored scans of this target that this key may read."
    )
  })
})

/** RFC 4180 reader for the tests: quoted cells, doubled quotes, CRLF rows. */
const parseCsv = (text: string): ReadonlyArray<ReadonlyArray<string>> =>
  text.trimEnd().split("\r\n").map((line) => [...line.matchAll(/"((?:[^"]|"")*)"(?:,|$)/g)].map((m) => m[1]!.replace(/""/g, "\"")))

describe("exports", () => {
  it("JSON and CSV of the hosts and ports of a real scan", () => {
    const { record, run } = recordOf(fixture("service.xml"))
    const data = scanExport(record, run)
    expect(Schema.is(ScanExport)(data)).toBe(true)
    expect(data.hosts[0]).toMatchObject({ address: "127.0.0.1", hostnames: ["localhost"], state: "up", os: "Linux 5.0 - 5.2 (96%)" })
    expect(data.hosts[0]!.ports[1]).toEqual({
      protocol: "tcp",
      portid: 18080,
      state: "open",
      reason: "syn-ack",
      service: "http",
      product: "SimpleHTTPServer",
      version: "0.6",
      extrainfo: "Python 3.11.7",
      tunnel: null,
      cpe: ["cpe:/a:python:simplehttpserver:0.6"],
      scripts: ["http-server-header", "http-title"]
    })
    const rows = parseCsv(exportCsv(data))
    expect(rows[0]!.join(",")).toBe(
      "scan_id,address,hostnames,host_state,protocol,port,state,reason,service,product,version,extrainfo,tunnel,cpe,scripts"
    )
    expect(rows.slice(1).map((r) => [r[5], r[6], r[9]])).toEqual([["22", "closed", ""], ["18080", "open", "SimpleHTTPServer"], [
      "18081",
      "closed",
      ""
    ]])
    const down = recordOf(fixture("discovery.xml"))
    expect(parseCsv(exportCsv(scanExport(down.record, down.run))).slice(1).every((r) => r.length === 15)).toBe(true)
  })

  it("a hostile product or version cannot become a spreadsheet formula or break the rows", () => {
    const { record, run } = recordOf(hostileXml)
    const rows = parseCsv(exportCsv(scanExport(record, run)))
    expect(rows.every((r) => r.length === 15)).toBe(true)
    expect(rows[1]![10]).toBe("'=cmd|' /C calc'!A0")
    expect(rows[1]![9]).toBe(HOSTILE)
    for (const bad of ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"]) expect(csvCell(bad)).toBe(`"'${bad}"`)
    expect(csvCell("a\"b")).toBe("\"a\"\"b\"")
  })

  it.prop("any cell reads back as its text (or its text after a ', when it would be a formula)", {
    s: FastCheck.string({ unit: "binary" })
  }, ({ s }) => {
    const cell = csvCell(s)
    expect(cell).toMatch(/^"(?:[^"]|"")*"$/)
    const read = cell.slice(1, -1).replace(/""/g, "\"")
    expect(read === s || read === `'${s}`).toBe(true)
    expect(read).not.toMatch(/^[=+\-@\t\r]/)
  })
})
