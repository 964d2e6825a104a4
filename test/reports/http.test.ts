import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { approvalDigest } from "../../src/policy/approval.js"
import { REPORT_CSP } from "../../src/reports/html.js"
import { authPatch, keys, startServer } from "../http/fakes.js"
import { seedScan } from "../support/scans.js"
import { nmapXml, xmlEscape } from "../tools/nmap/generate.js"
import { fixture, foreignMarkup, HOSTILE, seedXml } from "./support.js"

/** The report and export routes through the real HTTP server and a real SQLite store. */

const get = (base: string, path: string, key: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

const detail = (text: string) => (JSON.parse(text) as { detail: { _tag: string; message: string } }).detail

describe("REST: reports and exports", () => {
  it.scopedLive("a scan's report in Markdown and HTML, with its media type, file name, CSP and no caching", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const id = yield* seedXml(scans, { callerId: "exec", xml: fixture("service.xml") })

      const md = yield* get(base, `/scans/${id}/report`, keys.executor)
      expect(md.status).toBe(200)
      expect(md.headers.get("content-type")).toBe("text/markdown; charset=utf-8")
      expect(md.headers.get("content-disposition")).toBe(`inline; filename="scan-${id}.md"`)
      expect(md.headers.get("cache-control")).toBe("no-store")
      expect(md.headers.get("x-content-type-options")).toBe("nosniff")
      expect(md.headers.get("content-security-policy")).toBeNull()
      expect(md.text).toContain(`- **Scan:** \`${id}\``)
      expect(md.text).toContain("| 18080/tcp | open | syn-ack | `http` | `SimpleHTTPServer 0.6 (Python 3.11.7)` |")
      expect(md.text).toContain("- a note of the policy")
      const generated = (text: string) => text.replace(/Generated at \S+/, "Generated at T")
      expect(generated((yield* get(base, `/scans/${id}/report?format=md`, keys.executor)).text)).toBe(generated(md.text))

      const html = yield* get(base, `/scans/${id}/report?format=html`, keys.executor)
      expect(html.status).toBe(200)
      expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8")
      expect(html.headers.get("content-security-policy")).toBe(REPORT_CSP)
      expect(html.headers.get("content-disposition")).toBe(`inline; filename="scan-${id}.html"`)
      expect(html.text).toMatch(/^<!DOCTYPE html>/)
      expect(foreignMarkup(html.text)).toEqual([])

      const bad = yield* get(base, `/scans/${id}/report?format=pdf`, keys.executor)
      expect([bad.status, detail(bad.text)._tag]).toEqual([400, "InvalidInput"])
    }))

  it.scopedLive("a hostile banner is text in the served HTML and Markdown, and no formula in the CSV", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const xml = nmapXml([{
        address: "127.0.0.1",
        open: [22],
        service: `product="${xmlEscape(HOSTILE)}" version="=1+1" method="probed" conf="10"`,
        script: { id: "banner", output: HOSTILE }
      }])
      const id = yield* seedXml(scans, { callerId: "exec", xml })
      const html = (yield* get(base, `/scans/${id}/report?format=html`, keys.executor)).text
      expect(foreignMarkup(html)).toEqual([])
      expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;")
      const md = (yield* get(base, `/scans/${id}/report`, keys.executor)).text
      expect(md).toContain("```text\n<script>alert(1)</script>")
      const csv = yield* get(base, `/scans/${id}/export?format=csv`, keys.executor)
      expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8")
      expect(csv.headers.get("content-disposition")).toBe(`attachment; filename="scan-${id}-hosts.csv"`)
      expect(csv.text).toContain("\"'=1+1\"")
      expect(csv.text).not.toMatch(/(^|,)"=/m)
      const json = yield* get(base, `/scans/${id}/export`, keys.executor)
      expect(json.headers.get("content-type")).toBe("application/json")
      expect(JSON.parse(json.text).hosts[0].ports[0]).toMatchObject({ portid: 22, product: HOSTILE, version: "=1+1", scripts: ["banner"] })
    }))

  it.scopedLive("diff and history reports; the history target is a query parameter, a CIDR included", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const before = yield* seedScan(scans, { callerId: "exec", open: [22, 80], target: "127.0.0.0/30" })
      const after = yield* seedScan(scans, { callerId: "exec", open: [22, 443], target: "127.0.0.0/30" })

      const diff = yield* get(base, `/scans/${before}/diff/${after}/report`, keys.executor)
      expect(diff.status).toBe(200)
      expect(diff.headers.get("content-disposition")).toBe(`inline; filename="diff-${before}-${after}.md"`)
      expect(diff.text).toContain("## Ports opened (1)")
      expect(diff.text).toContain("| `127.0.0.1` | 443/tcp | open |")
      expect(diff.text).toContain("| `127.0.0.1` | 80/tcp | unknown | open |")
      const diffHtml = yield* get(base, `/scans/${before}/diff/${after}/report?format=html`, keys.executor)
      expect(diffHtml.headers.get("content-security-policy")).toBe(REPORT_CSP)

      for (const query of ["127.0.0.0%2F30", "127.0.0.0/30"]) {
        const history = yield* get(base, `/history/report?target=${query}&format=html`, keys.executor)
        expect(history.status).toBe(200)
        expect(history.headers.get("content-disposition")).toBe("inline; filename=\"history-127.0.0.0_30.html\"")
        expect(history.text).toContain("+1 opened, -1 closed")
        expect(foreignMarkup(history.text)).toEqual([])
      }
      // A slash of a CIDR encoded in a path is not a normal-form path: refused before routing.
      expect((yield* get(base, "/history/report/127.0.0.0%2F30", keys.executor)).status).toBe(400)
      const none = yield* get(base, "/history/report?target=127.0.0.9", keys.executor)
      expect(none.text).toContain("No stored scans of this target that this key may read.")
    }))

  it.scopedLive("the appendix names the approval a scan ran under, with requester and approver, from the real approvals store", () =>
    Effect.gen(function*() {
      const { approvals, base, scans } = yield* startServer(authPatch, { storage: true })
      const engagement = { name: "lab", hash: "ab".repeat(32) }
      const args = ["-sT", "--script", "vuln"]
      const subject = {
        tool: "NmapTool",
        resolvedTarget: "127.0.0.1",
        argv: ["nmap", "-oX", "-", "-n", ...args, "127.0.0.1"],
        engagement,
        requestedBy: "exec"
      }
      const requester = { id: "exec", transport: "http" as const, scopes: new Set(["execute" as const]) }
      const required = yield* approvals.request({
        subject,
        requester,
        target: "127.0.0.1",
        intrusive: true,
        intrusiveReasons: ["--script vuln"],
        correlationId: "report-approval"
      })
      const approver = { id: "admin", transport: "http" as const, scopes: new Set(["approve" as const]), engagements: ["lab"] }
      yield* Effect.orDie(approvals.decide(required.approval_id, "approved", approver, "lab window"))
      yield* Effect.orDie(approvals.use(required.approval_id, approvalDigest(subject), requester))
      const id = yield* seedXml(scans, { callerId: "exec", xml: fixture("connect.xml"), args, engagement })

      const md = (yield* get(base, `/scans/${id}/report`, keys.executor)).text
      expect(md).toContain(`- **Approval:** \`${required.approval_id}\``)
      expect(md).toMatch(/- \*\*Requested by:\*\* `exec` at \d{4}-/)
      expect(md).toMatch(/- \*\*Approved by:\*\* `admin` at \d{4}-/)
      expect(md).toContain("- **Approver's reason:** `lab window`")
      expect(md).toContain(`- **Scope hash at the scan:** \`${engagement.hash}\``)
      const history = (yield* get(base, "/history/report?target=127.0.0.1", keys.executor)).text
      expect(history).toContain(
        `| \`${id}\` | \`exec\` | \`lab\` | \`${engagement.hash}\` | \`${required.approval_id}\` | \`exec\` | \`admin\` |`
      )
    }))

  it.scopedLive("reads as GET /scans/{id} does: own scans, admin all, another key's scan is not found", () =>
    Effect.gen(function*() {
      const { base, scans } = yield* startServer(authPatch, { storage: true })
      const mine = yield* seedScan(scans, { callerId: "exec", open: [22] })
      const admins = yield* seedScan(scans, { callerId: "admin", open: [22], target: "127.0.0.2" })
      for (
        const path of [
          `/scans/${admins}/report`,
          `/scans/${admins}/export`,
          `/scans/${mine}/diff/${admins}/report`,
          "/scans/not-a-scan/report"
        ]
      ) {
        const reply = yield* get(base, path, keys.executor)
        expect([path, reply.status, detail(reply.text)._tag]).toEqual([path, 404, "ScanNotFound"])
      }
      expect((yield* get(base, `/scans/${mine}/report`, keys.admin)).status).toBe(200)
      expect((yield* get(base, `/scans/${admins}/export?format=csv`, keys.admin)).status).toBe(200)
      // The executor's key does not see the admin's scans in a history either.
      expect((yield* get(base, "/history/report?target=127.0.0.2", keys.executor)).text).toContain("No stored scans")
      expect((yield* get(base, "/history/report?target=127.0.0.2", keys.admin)).text).toContain(admins)
      expect((yield* get(base, `/scans/${mine}/report`, "wrong")).status).toBe(401)
    }))

  it.scopedLive("OpenAPI documents both media types of each route, its headers and its statuses", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const doc = JSON.parse((yield* get(base, "/openapi.json", keys.admin)).text)
      for (const route of ["/scans/{id}/report", "/scans/{id}/diff/{other}/report", "/history/report"]) {
        const responses = doc.paths[route].get.responses
        expect([route, Object.keys(responses["200"].content)]).toEqual([route, ["text/markdown", "text/html"]])
        expect(Object.keys(responses["200"].headers)).toEqual(expect.arrayContaining(["Content-Disposition", "Content-Security-Policy"]))
        expect(Object.keys(responses)).toEqual(expect.arrayContaining(["200", "400", "401", "403", "503"]))
      }
      expect(Object.keys(doc.paths["/scans/{id}/report"].get.responses)).toContain("404")
      const exported = doc.paths["/scans/{id}/export"].get.responses["200"].content
      expect(Object.keys(exported)).toEqual(["application/json", "text/csv"])
      expect(exported["application/json"].schema).toEqual({ $ref: "#/components/schemas/ScanExport" })
      expect(doc.paths["/history/report"].get.parameters.map((p: any) => p.name)).toEqual(["target", "format"])
    }))

  it.scopedLive("answers 503 StoreUnavailable when storage is disabled", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer(authPatch)
      const id = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
      for (
        const path of [
          `/scans/${id}/report`,
          `/scans/${id}/diff/${id}/report?format=html`,
          "/history/report?target=127.0.0.1",
          `/scans/${id}/export?format=csv`
        ]
      ) {
        const reply = yield* get(base, path, keys.admin)
        expect([path, reply.status, detail(reply.text)._tag]).toEqual([path, 503, "StoreUnavailable"])
      }
    }))
})
