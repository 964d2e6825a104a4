import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import type { Page } from "playwright-core"
import { type ConfigFile, makeConfigFile } from "../e2e/support/config.js"
import { newKey } from "../e2e/support/keys.js"
import {
  cleanup,
  type HttpServer,
  requireBuild,
  serverEnv,
  startHttpServer,
  startListener,
  startSilentListener
} from "../e2e/support/processes.js"
import { type Browser, chromiumPath, launch, screenshot, tabOrder, unlabelledControls } from "./support/browser.js"

/**
 * The console in a real browser (Debian's chromium through playwright-core)
 * against the built server, its real SQLite store and real nmap, scanning
 * only listeners this file opens on 127.0.0.1 (the server always adds -n).
 * The steps build on each other: sign in, watch a scan run, open it, diff
 * two scans, approve a held call, then the accessibility checks.
 */

const operator = newKey()
const requester = newKey()

let config: ConfigFile
let server: HttpServer
let browser: Browser
let page: Page
const own: Array<Server> = []

const settings = () => ({
  server: { shutdown_grace_period: 1 },
  security: { allowed_targets: ["loopback"], allow_intrusive: true, audit_log_path: join(config.dir, "audit.jsonl") },
  health: { cpu_threshold: 100, memory_threshold: 100, disk_threshold: 100 },
  rate_limit: { enabled: false },
  auth: {
    require_auth: true,
    api_keys: [
      { id: "operator", sha256: operator.sha256, scopes: ["execute", "intrusive", "admin", "approve"], engagements: ["lab"] },
      { id: "requester", sha256: requester.sha256, scopes: ["execute", "intrusive"], engagements: ["lab"] }
    ]
  },
  engagements: [{
    name: "lab",
    description: "loopback lab",
    targets: ["127.0.0.1"],
    tiers: ["passive", "safe", "intrusive"],
    max_rate: { packets_per_second: 500 },
    approval: "intrusive"
  }]
})

/** The environment without the loopback override, so the config file's settings are in force. */
const env = () => {
  const { MCP_SECURITY_ALLOWED_TARGETS: _ignored, ...rest } = serverEnv()
  return rest
}

const execute = (key: string, args: ReadonlyArray<string>) =>
  fetch(`${server.base}/tools/NmapTool/execute`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ target: "127.0.0.1", args })
  }).then(async (response) => ({ status: response.status, body: await response.json() as any }))

/** Listens on 127.0.0.1 (on `port`, or a free one); accepted connections are closed at once. */
const listen = async (port = 0): Promise<{ readonly port: number; readonly close: () => Promise<void> }> => {
  const listener = createServer((socket) => socket.destroy())
  own.push(listener)
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject)
    listener.listen(port, "127.0.0.1", () => resolve())
  })
  const address = listener.address()
  if (address === null || typeof address === "string") throw new Error("no TCP address")
  return { port: address.port, close: () => new Promise<void>((resolve) => listener.close(() => resolve())) }
}

const signIn = async (key: string) => {
  await page.goto(`${server.base}/ui`)
  await page.getByLabel("API key").fill(key)
  await page.getByRole("button", { name: "Sign in" }).click()
  await page.getByRole("heading", { level: 1, name: "Dashboard" }).waitFor()
}

beforeAll(async () => {
  requireBuild()
  const executable = chromiumPath()
  if (executable === undefined) throw new Error("chromium is not on PATH: run `npm run setup` as root, or `apt-get install chromium`")
  config = makeConfigFile({})
  config.write(settings())
  server = await startHttpServer(["--config", config.path], env())
  browser = await launch(executable)
  page = browser.page
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await cleanup()
  await Promise.all(own.map((listener) => new Promise<void>((resolve) => listener.close(() => resolve()))))
  config?.remove()
}, 30_000)

describe("the console in chromium", () => {
  it("serves the page under a strict CSP; refuses a wrong key; keeps the right one for the tab only, never in the URL", async () => {
    const response = await page.goto(`${server.base}/ui`)
    expect(response!.status()).toBe(200)
    const headers = response!.headers()
    expect(headers["content-security-policy"]).toContain("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'")
    expect(headers["content-security-policy"]).toContain("frame-ancestors 'none'")
    expect(headers).toMatchObject({ "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" })
    const violations: Array<string> = []
    page.on("console", (message) => message.type() === "error" && violations.push(message.text()))

    await page.getByLabel("API key").fill("not-a-key")
    await page.getByRole("button", { name: "Sign in" }).click()
    await expect(page.getByRole("alert").textContent()).resolves.toContain("not valid")
    await screenshot(page, "01-login-refused")

    await signIn(operator.key)
    expect(page.url()).not.toContain(operator.key)
    expect(await page.evaluate(() => Object.values(sessionStorage))).toEqual([operator.key])
    expect(await page.evaluate(() => Object.keys(localStorage).length + document.cookie.length)).toBe(0)
    await page.getByText("Live: updates arrive over /events.").waitFor()
    expect(violations.filter((text) => text.includes("Content Security Policy"))).toEqual([])
  }, 60_000)

  let scanId = ""

  it("shows a scan of a loopback listener while it runs, then in the recent scans", async () => {
    const open = await startListener()
    // Version detection waits out its probe on a listener that never speaks: the scan runs for seconds.
    const silent = await startSilentListener()
    const running = execute(operator.key, ["-sT", "-sV", "--version-intensity", "0", "-p", `${open},${silent}`])
    const row = page.locator("ul.running li", { hasText: "NmapTool" })
    await row.waitFor({ timeout: 20_000 })
    expect(await row.textContent()).toContain("127.0.0.1")
    await screenshot(page, "02-dashboard-running")
    const done = await running
    expect(done.status).toBe(200)
    scanId = done.body.scan_id
    await page.locator(`tr[data-scan-id="${scanId}"]`, { hasText: "succeeded" }).waitFor({ timeout: 20_000 })
    await page.getByText("Nothing is running.").waitFor({ timeout: 20_000 })
    // The events the dashboard followed: the start, what the scan found while running, the end.
    const events = page.locator("ol.events")
    for (const type of ["execution.started", "scan.progress", "execution.finished"]) await events.getByText(type).first().waitFor()
    await screenshot(page, "03-dashboard-done")
  }, 90_000)

  it("opens the scan: hosts × ports, services, filter, raw output, JSON download", async () => {
    await page.locator(`tr[data-scan-id="${scanId}"] a`).first().click()
    await page.getByRole("heading", { level: 1, name: `Scan ${scanId}` }).waitFor()
    expect(await page.locator("dl.facts").textContent()).toContain("127.0.0.1 (pinned to 127.0.0.1)")
    const matrix = page.getByRole("region", { name: "Port matrix" })
    await matrix.waitFor()
    expect(await matrix.locator("td[title=open]").count()).toBe(2)
    const ports = page.locator("table.ports tbody tr")
    expect(await ports.count()).toBe(2)
    await page.getByLabel("Filter hosts and ports").fill("state:open 127.0.0.1")
    expect(await ports.count()).toBe(2)
    await page.getByLabel("Filter hosts and ports").fill("no-such-service")
    expect(await ports.count()).toBe(0)
    await page.getByLabel("Filter hosts and ports").fill("")
    await page.getByText("Show stdout and stderr").click()
    await expect(page.locator("pre.raw").first().textContent()).resolves.toContain("<nmaprun")
    const download = page.getByRole("link", { name: "Download JSON" })
    expect(await download.getAttribute("href")).toMatch(/^blob:/)
    const [file] = await Promise.all([page.waitForEvent("download"), download.click()])
    expect(file.suggestedFilename()).toBe(`scan-${scanId}.json`)
    await screenshot(page, "04-scan-detail")
  }, 60_000)

  it("diffs two scans of the target: a port that opened and one that closed, highlighted", async () => {
    const stays = await listen()
    const closes = await listen()
    const later = await listen()
    await later.close()
    const ports = `${stays.port},${closes.port},${later.port}`
    const first = await execute(operator.key, ["-sT", "-p", ports])
    expect(first.status).toBe(200)
    await closes.close()
    await listen(later.port)
    const second = await execute(operator.key, ["-sT", "-p", ports])
    expect(second.status).toBe(200)

    await page.goto(`${server.base}/ui#/scans/${second.body.scan_id}`)
    await page.getByLabel("Compare with").selectOption(first.body.scan_id)
    await page.getByRole("button", { name: "Open diff" }).click()
    await page.getByRole("heading", { level: 1, name: "Diff" }).waitFor()
    const opened = page.locator("tr.diff-opened", { hasText: `${later.port}/tcp` })
    const closed = page.locator("tr.diff-closed", { hasText: `${closes.port}/tcp` })
    await opened.waitFor()
    await closed.waitFor()
    expect(await page.locator("table.diff tbody tr").count()).toBe(2)
    expect(await page.getByRole("status").filter({ hasText: "opened" }).textContent()).toContain("1 opened")
    await screenshot(page, "05-diff")

    await page.getByRole("link", { name: "127.0.0.1" }).first().click()
    await page.getByRole("heading", { level: 1, name: "History of 127.0.0.1" }).waitFor()
    await page.locator("ol.timeline li").nth(2).waitFor()
    expect(await page.locator("ol.timeline li").count()).toBeGreaterThanOrEqual(3)
    expect(await page.getByRole("link", { name: /changes since/ }).count()).toBeGreaterThanOrEqual(1)
    await screenshot(page, "06-history")
  }, 90_000)

  it("approves a call held for approval, from the keyboard", async () => {
    const listener = await startListener()
    const held = await execute(requester.key, ["-sT", "-p", String(listener), "--script", "ftp-brute"])
    expect(held.status).toBe(428)
    const id: string = held.body.detail.approval_id

    await page.getByRole("link", { name: "Approvals" }).click()
    await page.getByRole("heading", { level: 1, name: "Approvals" }).waitFor()
    const card = page.locator("li.approval", { hasText: "ftp-brute" })
    await card.waitFor()
    expect(await card.textContent()).toContain("requester")
    await screenshot(page, "07-approvals")
    await card.getByLabel("Reason").focus()
    await page.keyboard.type("loopback lab listener, agreed")
    await page.keyboard.press("Enter")
    await page.getByText("No pending approvals.").waitFor()

    const after = await fetch(`${server.base}/approvals/${id}`, { headers: { authorization: `Bearer ${operator.key}` } })
    expect(await after.json()).toMatchObject({ status: "approved", decided_by: "operator", reason: "loopback lab listener, agreed" })
  }, 60_000)

  it("without the admin scope: no live stream (refreshing instead), only the key's own scans and approvals, no decision", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await signIn(requester.key)
    await page.getByText("Live events need a key with the admin scope: refreshing every 5 s.").waitFor()
    expect(await page.getByText("No scans.").count()).toBe(1)
    await page.getByRole("link", { name: "Approvals" }).click()
    await page.getByLabel("Status").selectOption("approved")
    const own = page.locator("li.approval", { hasText: "ftp-brute" })
    await own.waitFor()
    expect(await own.getByRole("button").count()).toBe(0)
    await page.getByRole("button", { name: "Sign out" }).click()
    await signIn(operator.key)
  }, 60_000)

  it("labels every control and reaches every action from the keyboard, with a visible focus", async () => {
    for (const view of ["#/", "#/scans", `#/scans/${scanId}`, "#/approvals"]) {
      await page.goto(`${server.base}/ui${view}`)
      await page.locator("main h1").waitFor()
      await page.waitForFunction(() => document.querySelector("[aria-busy=true]") === null)
      expect([view, await unlabelledControls(page)]).toEqual([view, []])
      expect(await page.getByRole("banner").count() + await page.getByRole("main").count()).toBe(2)
    }
    // A fresh load (not a fragment change, which moves the focus to the new view's heading) starts at the top.
    await page.goto(`${server.base}/ui#/`)
    await page.reload()
    await page.locator("main h1").waitFor()
    await page.locator("table.scans").waitFor()
    await page.getByText("Live: updates arrive over /events.").waitFor()
    await screenshot(page, "08-dashboard", { readme: true })
    const order = await tabOrder(page, 5)
    expect(order.map((step) => step.text)).toEqual(["Skip to content", "Dashboard", "Scans", "Approvals", "Sign out"])
    expect(order.every((step) => !step.outline.startsWith("none"))).toBe(true)
    // Enter on a focused link follows it; Space on a focused button presses it.
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")
    await page.getByRole("heading", { level: 1, name: "Scans" }).waitFor()
    await page.getByRole("button", { name: "Sign out" }).focus()
    await page.keyboard.press("Space")
    await page.getByLabel("API key").waitFor()
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0)
    expect(await unlabelledControls(page)).toEqual([])
    // The sign-in form works from the keyboard alone: the focus is on its heading, the key field next.
    await page.keyboard.press("Tab")
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("api-key")
    await page.keyboard.type(operator.key)
    await page.keyboard.press("Enter")
    // Back where the operator was when signing out.
    await page.getByRole("heading", { level: 1, name: "Scans" }).waitFor()
  }, 60_000)
})
