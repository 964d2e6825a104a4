import { describe, expect, it } from "@effect/vitest"
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import type { FrameLocator, Page } from "playwright-core"
import { APP_MIME_TYPE, SCAN_VIEWER_URI, type ViewerResourceMeta } from "../../src/mcp/mcpApp.js"
import { startStdioServer } from "../support/server.js"
import { chromiumPath, launch, screenshot } from "../ui/support/browser.js"
import { stubHost } from "./stubHost.js"
import { appsCapabilities, freePort, loopbackListener, openPortsOf, scanLoopback } from "./support.js"

/**
 * The scan viewer in a real browser: Debian's Chromium renders the app's
 * HTML (read over MCP from the built server) in a stub host page that hands
 * it REAL tool results: nmap scans of loopback listeners this test opens,
 * and the ScanDiff of two of them, run through the built server. Screenshots
 * are kept with the console's test artefacts (test/ui/artifacts).
 */

/** The console tests' Chromium (fresh profile; closing it fails when a process of it is left), closed with the scope. */
const browser = (executablePath: string) =>
  Effect.acquireRelease(Effect.promise(() => launch(executablePath)), (b) => Effect.promise(() => b.close()))

const scanIdOf = (result: CallToolResult) => (result.structuredContent as { execution: { scan_id: string } }).execution.scan_id

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Opens a host page for the case and waits until the view rendered the result. */
const render = (page: Page, url: string, ready: string) =>
  promise(async () => {
    await page.goto(url)
    const view = page.frameLocator("iframe[title='Scan viewer']")
    await view.locator(ready).first().waitFor({ timeout: 15_000 })
    return view
  })

const rowTexts = (view: FrameLocator, selector: string) => promise(() => view.locator(selector).allInnerTexts())

const executablePath = chromiumPath()

describe.skipIf(executablePath === undefined)("MCP App: the scan viewer in Chromium under a stub host", () => {
  it.scopedLive("shows a real scan's open port, filters it, and highlights the port a rescan found opened", () =>
    Effect.gen(function*() {
      const open = yield* loopbackListener()
      const later = yield* freePort
      const server = yield* startStdioServer({ clientCapabilities: appsCapabilities })
      const { tools } = yield* promise(() => server.client.listTools())
      const tool = (name: string) => tools.find((t) => t.name === name) as Tool
      expect(tool("NmapTool")._meta?.["ui"]).toEqual({ resourceUri: SCAN_VIEWER_URI })
      const read = yield* promise(() => server.client.readResource({ uri: SCAN_VIEWER_URI }))
      const resource = read.contents[0]!
      expect(resource.mimeType).toBe(APP_MIME_TYPE)
      const meta = (resource._meta as { ui: ViewerResourceMeta }).ui

      const args = { target: "127.0.0.1", args: ["-sT", "-p", `${open},${later}`] }
      const first = yield* scanLoopback(server, [open, later])
      expect(openPortsOf(first)).toEqual([open])
      yield* loopbackListener(later)
      const second = yield* scanLoopback(server, [open, later])
      expect(openPortsOf(second)).toEqual([open, later].sort((a, b) => a - b))
      const diffArgs = { scan_id: scanIdOf(second), baseline_scan_id: scanIdOf(first) }
      const diff = (yield* promise(() => server.client.callTool({ name: "ScanDiff", arguments: diffArgs }))) as CallToolResult
      expect(diff.isError).toBeFalsy()

      const host = yield* stubHost("text" in resource ? resource.text : "", meta)
      const { page } = yield* browser(executablePath!)
      const errors: Array<string> = []
      page.on("pageerror", (error) => errors.push(error.message))
      page.on("console", (message) => message.type() === "error" && errors.push(message.text()))

      // The scan: the listener's port open, the other closed, both in the hosts × ports table.
      const scan = yield* render(page, host.open({ tool: tool("NmapTool"), arguments: args, result: first }), "table.ports tbody tr")
      const rows = yield* rowTexts(scan, "table.ports tbody tr")
      expect(rows.find((r) => r.includes(`${open}/tcp`))).toMatch(/\bopen\b/)
      expect(rows.find((r) => r.includes(`${later}/tcp`))).toMatch(/\bclosed\b/)
      expect(yield* promise(() => scan.locator("h1").innerText())).toContain(scanIdOf(first))
      const methods = yield* promise(() => page.evaluate(() => (window as any).hostLog.map((m: { method?: string }) => m.method)))
      expect(methods.slice(0, 2)).toEqual(["ui/initialize", "ui/notifications/initialized"])
      yield* promise(() => screenshot(page, "scan-viewer-scan"))

      // The filter, found by its label and reached from the host page with the keyboard alone: only matching rows stay.
      const filter = scan.getByLabel("Filter hosts and ports")
      yield* promise(() => page.keyboard.press("Tab"))
      expect(yield* promise(() => filter.evaluate((input) => input === document.activeElement))).toBe(true)
      yield* promise(() => page.keyboard.type("state:open"))
      expect(yield* rowTexts(scan, "table.ports tbody tr")).toEqual([expect.stringContaining(`${open}/tcp`)])
      yield* promise(() => filter.fill(String(later)))
      expect(yield* rowTexts(scan, "table.ports tbody tr")).toEqual([expect.stringContaining(`${later}/tcp`)])
      expect(yield* promise(() => scan.getByRole("status").first().innerText())).toContain("1 of 2 ports")

      // The diff: the port the rescan found open is highlighted as opened.
      const view = yield* render(page, host.open({ tool: tool("ScanDiff"), arguments: diffArgs, result: diff }), "table.diff tbody tr")
      const opened = yield* rowTexts(view, "table.diff tbody tr.diff-opened")
      expect(opened).toEqual([expect.stringContaining(`${later}/tcp`)])
      expect(yield* rowTexts(view, "table.diff tbody tr.diff-closed")).toEqual([])
      expect(yield* promise(() => view.locator(".diff-summary").innerText())).toMatch(/1 opened.*0 closed/s)
      const background = yield* promise(() =>
        view.locator("tr.diff-opened").first().evaluate((row) => getComputedStyle(row).backgroundColor)
      )
      expect(background).not.toMatch(/^rgba\(0, 0, 0, 0\)$/)
      yield* promise(() => screenshot(page, "scan-viewer-diff"))

      // A host in dark mode: the view follows its theme, and the highlight is a dark one (light text stays readable).
      const dark = yield* render(
        page,
        host.open({ tool: tool("ScanDiff"), arguments: diffArgs, result: diff, theme: "dark" }),
        "table.diff tbody tr"
      )
      expect(yield* promise(() => dark.locator("html").getAttribute("data-theme"))).toBe("dark")
      const darkBackground = yield* promise(() =>
        dark.locator("tr.diff-opened").first().evaluate((row) => getComputedStyle(row).backgroundColor)
      )
      expect(darkBackground).not.toBe(background)
      yield* promise(() => screenshot(page, "scan-viewer-diff-dark"))

      expect(errors).toEqual([])
    }), { timeout: 120_000 })
})
