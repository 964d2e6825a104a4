import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { createServer as createHttpServer, type Server as HttpReceiver } from "node:http"
import { createServer, type Server } from "node:net"
import { join } from "node:path"
import type { Locator, Page } from "playwright-core"
import { type ConfigFile, makeConfigFile } from "../e2e/support/config.js"
import { newKey } from "../e2e/support/keys.js"
import {
  cleanup,
  type HttpServer,
  requireBuild,
  serverEnv,
  startHttpServer,
  startListener,
  startSilentListener,
  waitFor
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
/** Owns the schedule whose runs need a standing approval: one the operator (another key) decides. */
const scheduler = newKey()

let config: ConfigFile
let server: HttpServer
let browser: Browser
let page: Page
const own: Array<Server> = []

/** The webhook receiver on 127.0.0.1: answers `hook.status`, counts what it got. */
const hook = { status: 500, received: 0, port: 0 }
let receiver: HttpReceiver
const startReceiver = () =>
  new Promise<void>((resolve) => {
    receiver = createHttpServer((request, response) => {
      request.resume()
      request.on("end", () => {
        hook.received++
        response.writeHead(hook.status).end()
      })
    })
    receiver.listen(0, "127.0.0.1", () => {
      const address = receiver.address()
      if (address !== null && typeof address !== "string") hook.port = address.port
      resolve()
    })
  })

const settings = () => ({
  server: { shutdown_grace_period: 1 },
  security: { allowed_targets: ["loopback"], allow_intrusive: true, audit_log_path: join(config.dir, "audit.jsonl") },
  health: { cpu_threshold: 100, memory_threshold: 100, disk_threshold: 100 },
  // A schedule the console creates runs within seconds (the test deletes it after its first run).
  watch: {
    min_interval: 1,
    poll_interval: 0.2,
    // The one webhook fails until the test says otherwise, and is not retried: its alert is a dead letter at once.
    webhooks: [{ name: "lab-hook", url: `http://127.0.0.1:${hook.port}/alerts`, secret: "a-lab-secret-of-enough-length", timeout: 5 }],
    webhook_egress: ["127.0.0.1"],
    webhook_retries: 0
  },
  rate_limit: { enabled: false },
  auth: {
    require_auth: true,
    api_keys: [
      { id: "ops", sha256: operator.sha256, scopes: ["execute", "intrusive", "admin", "approve", "schedule"], engagements: ["lab"] },
      { id: "requester", sha256: requester.sha256, scopes: ["execute", "intrusive"], engagements: ["lab"] },
      { id: "scheduler", sha256: scheduler.sha256, scopes: ["execute", "intrusive", "schedule"], engagements: ["lab"] }
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

/** A REST call as `key`, with its status and JSON body. */
const rest = (key: string, method: string, path: string, body?: unknown) =>
  fetch(`${server.base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
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

/** Clicks a download button and returns the saved file's name and text. */
const saved = async (button: Locator) => {
  const [file] = await Promise.all([page.waitForEvent("download"), button.click()])
  const path = await file.path()
  return { name: file.suggestedFilename(), text: readFileSync(path, "utf8"), url: file.url() }
}

/** Every URL the page asked for: none may carry the key. */
const requested: Array<string> = []

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
  await startReceiver()
  config = makeConfigFile({})
  config.write(settings())
  server = await startHttpServer(["--config", config.path], env())
  browser = await launch(executable)
  page = browser.page
  page.on("request", (request) => requested.push(request.url()))
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await cleanup()
  await Promise.all(
    [...own, receiver].filter((s) => s !== undefined).map((s) => new Promise<void>((resolve) => s.close(() => resolve())))
  )
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
    // Reports and exports: fetched with the key in the header, saved through a blob URL (allowed by the CSP as it is).
    const markdown = await saved(page.getByRole("button", { name: "Scan report (Markdown)" }))
    expect(markdown.name).toBe(`scan-${scanId}.md`)
    expect(markdown.url).toMatch(/^blob:/)
    expect(markdown.text).toContain("# Scan report: NmapTool 127.0.0.1")
    await page.getByRole("status").filter({ hasText: `Saved scan-${scanId}.md` }).waitFor()
    const html = await saved(page.getByRole("button", { name: "Scan report (HTML)" }))
    expect([html.name, html.text.startsWith("<!DOCTYPE html>")]).toEqual([`scan-${scanId}.html`, true])
    const csv = await saved(page.getByRole("button", { name: "Hosts and ports (CSV)" }))
    expect(csv.name).toBe(`scan-${scanId}-hosts.csv`)
    expect(csv.text.split("\r\n").filter((line) => line.includes(",\"open\","))).toHaveLength(2)
    const json = await saved(page.getByRole("button", { name: "Hosts and ports (JSON)" }))
    expect(JSON.parse(json.text)).toMatchObject({ scan_id: scanId })
    expect(requested.filter((url) => url.includes(operator.key))).toEqual([])
    await screenshot(page, "04-scan-detail")
  }, 60_000)

  it("shows services and versions, the script findings of ports and of hosts, and OS guesses, as the API returns them", async () => {
    // The stored scan above, with what a -sV -sC -O scan of a real host adds (loopback listeners have none of it).
    const stored = await fetch(`${server.base}/scans/${scanId}`, { headers: { authorization: `Bearer ${operator.key}` } })
    const real = await stored.json() as any
    const [host] = real.structured.hosts
    const script = (id: string, output: string) => ({ id, output, elems: [], tables: [] })
    const structured = {
      ...real.structured,
      hosts: [{
        ...host,
        ports: host.ports.map((port: any, i: number) =>
          i === 0
            ? {
              ...port,
              service: { name: "http", product: "lab-httpd", version: "1.2", cpe: [] },
              scripts: [script("http-title", "Lab welcome page")]
            }
            : port
        ),
        hostscripts: [script("smb-os-discovery", "OS: Lab OS 1.0")],
        os: [{ name: "Linux 5.4", accuracy: 98, osclass: [] }, { name: "Linux 4.15", accuracy: 91, osclass: [] }]
      }]
    }
    await page.route("**/scans/enriched", (route) => route.fulfill({ json: { ...real, scan_id: "enriched", structured } }))
    try {
      await page.goto(`${server.base}/ui#/scans/enriched`)
      await page.getByRole("heading", { level: 1, name: "Scan enriched" }).waitFor()
      const row = page.locator("table.ports tbody tr", { hasText: "lab-httpd 1.2" })
      await row.waitFor()
      expect(await row.textContent()).toContain("http")
      await row.getByText("http-title").click()
      await row.getByText("Lab welcome page").waitFor()
      const findings = page.getByRole("region", { name: "Host findings" })
      expect(await findings.textContent()).toContain("OS: Linux 5.4 (98%); Linux 4.15 (91%)")
      await findings.getByText("smb-os-discovery").click()
      await findings.getByText("OS: Lab OS 1.0").waitFor()
      await screenshot(page, "04b-scan-findings")
    } finally {
      await page.unroute("**/scans/enriched")
    }
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
    const diffReport = await saved(page.getByRole("button", { name: "Diff report (Markdown)" }))
    expect(diffReport.text).toContain(`# Diff report: ${first.body.scan_id} to ${second.body.scan_id}`)
    expect(diffReport.text).toContain(String(later.port))
    await screenshot(page, "05-diff")

    await page.getByRole("link", { name: "127.0.0.1" }).first().click()
    await page.getByRole("heading", { level: 1, name: "History of 127.0.0.1" }).waitFor()
    await page.locator("ol.timeline li").nth(2).waitFor()
    expect(await page.locator("ol.timeline li").count()).toBeGreaterThanOrEqual(3)
    expect(await page.getByRole("link", { name: /changes since/ }).count()).toBeGreaterThanOrEqual(1)
    const historyReport = await saved(page.getByRole("button", { name: "History report (HTML)" }))
    expect(historyReport.text).toContain("History report: 127.0.0.1")
    expect(requested.filter((url) => url.includes(operator.key))).toEqual([])
    await screenshot(page, "06-history")

    // The search is the server's, over every stored scan, and kept in the fragment like the other filters.
    await page.goto(`${server.base}/ui#/scans`)
    await page.getByLabel("Search").fill(`-sT ${later.port}`)
    await page.getByRole("button", { name: "Apply filters" }).click()
    await page.waitForURL((url) => url.hash.includes(`q=-sT+${later.port}`) || url.hash.includes(`q=-sT%20${later.port}`))
    await page.locator(`tr[data-scan-id="${second.body.scan_id}"]`).waitFor()
    expect(await page.locator(`tr[data-scan-id="${first.body.scan_id}"]`).count()).toBe(1)
    await page.getByLabel("Search").fill("no-scan-has-this-word")
    await page.getByRole("button", { name: "Apply filters" }).click()
    await page.getByText("No scans.").waitFor()
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
    expect(await after.json()).toMatchObject({ status: "approved", decided_by: "ops", reason: "loopback lab listener, agreed" })

    // Each approval has an address of its own, to hand to an approver; decided, it shows its decision and no form.
    await page.goto(`${server.base}/ui#/approvals/${id}`)
    await page.getByRole("heading", { level: 1, name: `Approval ${id}` }).waitFor()
    const one = page.locator(`li.approval[data-approval-id="${id}"]`)
    await one.getByText("ops").first().waitFor()
    expect(await one.textContent()).toContain("loopback lab listener, agreed")
    expect(await one.getByLabel("Reason").count()).toBe(0)
    await page.getByRole("link", { name: "All approvals" }).click()
    await page.getByRole("heading", { level: 1, name: "Approvals" }).waitFor()
  }, 60_000)

  it("creates a schedule, shows its run linked to the scan it stored, and deletes it", async () => {
    const listener = await startListener()
    await page.getByRole("link", { name: "Schedules" }).click()
    await page.getByRole("heading", { level: 1, name: "Schedules" }).waitFor()
    await page.getByText("No schedules.").waitFor()
    await page.getByLabel("Name").fill("nightly-lab")
    await page.getByLabel("Target").fill("127.0.0.1")
    await page.getByLabel("Arguments").fill(`-sT -p ${listener}`)
    await page.getByLabel("Interval (seconds)").fill("2")
    await page.getByRole("button", { name: "Create schedule" }).click()
    await page.getByRole("status").filter({ hasText: "Schedule nightly-lab created." }).waitFor()
    const card = page.locator("li.schedule", { hasText: "nightly-lab" })
    await card.waitFor()
    expect(await card.textContent()).toContain("every 2 s")
    // The form's own refusal: a cron expression that cannot run, with the server's reason.
    await page.getByLabel("Name").fill("broken")
    await page.getByLabel("Target").fill("127.0.0.1")
    await page.getByLabel("Runs").selectOption("cron")
    await page.getByLabel(/^Cron/).fill("* * *")
    await page.getByRole("button", { name: "Create schedule" }).click()
    await expect(page.getByRole("alert").textContent()).resolves.toContain("invalid schedule")

    // The scheduler runs it within seconds; the list refreshes by itself and links the run to its scan.
    const scanLink = card.getByRole("link", { name: "scan" }).first()
    await scanLink.waitFor({ timeout: 30_000 })
    expect(await card.locator("dd").filter({ hasText: "succeeded" }).count()).toBeGreaterThanOrEqual(1)
    await screenshot(page, "08-schedules")
    await scanLink.click()
    await page.getByRole("heading", { level: 1, name: /^Scan / }).waitFor()
    await page.goBack()
    await card.getByRole("button", { name: "Delete nightly-lab" }).click()
    await card.getByRole("button", { name: "Yes, delete" }).click()
    await page.getByText("No schedules.").waitFor()
    const left = await fetch(`${server.base}/schedules`, { headers: { authorization: `Bearer ${operator.key}` } })
    expect(await left.json()).toEqual([])
  }, 90_000)

  it("shows a schedule's standing approval: pending, approved in the queue, revoked with a reason; disables and enables it", async () => {
    const listener = await startListener()
    const created = await rest(scheduler.key, "POST", "/schedules", {
      name: "lab-brute",
      tool: "NmapTool",
      target: "127.0.0.1",
      args: ["-sT", "-p", String(listener), "--script", "ftp-brute"],
      interval: 3600
    })
    expect(created.status).toBeLessThan(300)
    const scheduleId: string = created.body.schedule_id
    await page.goto(`${server.base}/ui#/schedules`)
    const card = page.locator("li.schedule", { hasText: "lab-brute" })
    await card.locator("dd.standing", { hasText: "pending" }).waitFor({ timeout: 20_000 })
    expect(await card.locator("dd.standing").textContent()).toContain("asked by scheduler")

    await page.getByRole("link", { name: "Approvals" }).click()
    await page.getByLabel("Kind").selectOption("standing")
    const pending = page.locator("li.approval", { hasText: "ftp-brute" })
    await pending.waitFor()
    expect(await pending.locator(".kind-standing").textContent()).toBe("standing")
    const toSchedule = pending.getByRole("link", { name: `schedule ${scheduleId}` })
    expect(await toSchedule.getAttribute("href")).toBe(`#/schedules/${scheduleId}`)
    await pending.getByLabel("Reason").fill("weekly brute force of the lab listener, agreed")
    await pending.getByRole("button", { name: "Approve" }).click()
    await page.getByText("No pending approvals.").waitFor()

    await page.getByLabel("Status").selectOption("approved")
    const approved = page.locator("li.approval", { hasText: "ftp-brute" })
    await approved.locator(".status-approved").waitFor()
    expect(await approved.textContent()).toContain("every run of schedule")
    // Revoke asks first, inline, and takes the focus to the reason: the rest is the keyboard's.
    await approved.getByRole("button", { name: "Revoke" }).click()
    await expect.poll(() => page.evaluate(() => document.activeElement?.id ?? "")).toMatch(/^revoke-/)
    await screenshot(page, "08b-revoke-confirm")
    expect(await unlabelledControls(page)).toEqual([])
    await page.keyboard.type("the lab is closed this week")
    await page.keyboard.press("Enter")
    await page.getByText("No approved approvals.").waitFor()
    await page.getByLabel("Status").selectOption("revoked")
    const revoked = page.locator("li.approval", { hasText: "ftp-brute" })
    await revoked.locator(".status-revoked").waitFor()
    expect(await revoked.locator("dl.facts").textContent()).toContain("Revokedops")
    expect(await revoked.getByRole("button").count()).toBe(0)
    const stored = await rest(operator.key, "GET", `/approvals?kind=standing&status=revoked`)
    expect(stored.body).toEqual([expect.objectContaining({ schedule_id: scheduleId, revoked_by: "ops" })])

    // The link leads to the schedule, marked, with the revoked state; then off and on again (PATCH).
    await revoked.getByRole("link", { name: `schedule ${scheduleId}` }).click()
    await page.getByRole("heading", { level: 1, name: "Schedules" }).waitFor()
    const marked = page.locator("li.schedule[aria-current=true]")
    expect(await marked.locator("h3").textContent()).toContain("lab-brute")
    await marked.locator("dd.standing", { hasText: "revoked by ops" }).waitFor()
    await screenshot(page, "08c-schedule-revoked")
    await marked.getByRole("button", { name: "Disable lab-brute" }).click()
    await marked.getByRole("button", { name: "Enable lab-brute" }).waitFor()
    expect(await marked.locator("h3").textContent()).toContain("disabled")
    expect((await rest(operator.key, "GET", `/schedules/${scheduleId}`)).body).toMatchObject({ enabled: false })
    await marked.getByRole("button", { name: "Enable lab-brute" }).click()
    await marked.getByRole("button", { name: "Disable lab-brute" }).waitFor()
    expect((await rest(operator.key, "GET", `/schedules/${scheduleId}`)).body).toMatchObject({ enabled: true })
    expect((await rest(operator.key, "DELETE", `/schedules/${scheduleId}`)).status).toBe(200)
  }, 90_000)

  it("lists a change alert no webhook took (admin) and retries it: kept while the receiver fails, gone once delivered", async () => {
    const stays = await listen()
    const opens = await listen()
    await opens.close()
    const created = await rest(operator.key, "POST", "/schedules", {
      name: "lab-alerts",
      tool: "NmapTool",
      target: "127.0.0.1",
      args: ["-sT", "-p", `${stays.port},${opens.port}`],
      interval: 1,
      webhooks: ["lab-hook"]
    })
    expect(created.status).toBeLessThan(300)
    const id: string = created.body.schedule_id
    await waitFor("the first run", async () => {
      const { body } = await rest(operator.key, "GET", `/schedules/${id}`)
      return body.recent_runs.some((run: any) => run.status === "succeeded") ? true : undefined
    }, 30_000)
    // The next run finds the port open: its alert fails once (HTTP 500, no retries) and is kept as a dead letter.
    await listen(opens.port)
    const letters = await waitFor("a dead letter", async () => {
      const { body } = await rest(operator.key, "GET", "/webhooks/dead-letters")
      return body.dead_letters.length > 0 ? body.dead_letters : undefined
    }, 30_000)
    expect((await rest(operator.key, "PATCH", `/schedules/${id}`, { enabled: false })).status).toBe(200)
    expect(letters).toHaveLength(1)

    await page.goto(`${server.base}/ui#/schedules`)
    const panel = page.getByRole("region", { name: "Undelivered alerts (dead letters)" })
    const row = panel.locator(`tr[data-dead-letter-id="${letters[0].id}"]`)
    await row.waitFor()
    expect(await row.textContent()).toContain("lab-hook")
    expect(await row.getByRole("link", { name: id }).getAttribute("href")).toBe(`#/schedules/${id}`)
    await row.getByRole("button", { name: /^Retry the delivery to lab-hook/ }).click()
    await panel.getByRole("status").filter({ hasText: "Not delivered to lab-hook (attempt 2)" }).waitFor()
    expect(await panel.getByRole("status").textContent()).toContain("the dead letter is kept")
    await row.locator("td", { hasText: /^2$/ }).waitFor()
    await screenshot(page, "08d-dead-letters")
    hook.status = 204
    await row.getByRole("button", { name: /^Retry the delivery to lab-hook/ }).focus()
    await page.keyboard.press("Enter")
    await panel.getByRole("status").filter({ hasText: "Delivered to lab-hook (attempt 3)" }).waitFor()
    await panel.getByText("No dead letters: every change alert was delivered.").waitFor()
    expect(hook.received).toBe(3)
    expect((await rest(operator.key, "GET", "/webhooks/dead-letters")).body.dead_letters).toEqual([])
    expect((await rest(operator.key, "DELETE", `/schedules/${id}`)).status).toBe(200)
  }, 90_000)

  it("searches the audit log (admin): filters by key, decision and text, each search audited", async () => {
    await page.getByRole("link", { name: "Audit" }).click()
    await page.getByRole("heading", { level: 1, name: "Audit log" }).waitFor()
    const rows = page.locator("table.audit tbody tr")
    await rows.first().waitFor()
    expect(await rows.count()).toBeGreaterThan(5)
    await page.getByLabel("Key id").fill("requester")
    await page.getByLabel("Decision").selectOption("approval")
    await page.getByLabel("Text").fill("ftp-brute")
    await page.getByRole("button", { name: "Search" }).click()
    await page.waitForFunction(() => location.hash.includes("caller=requester"))
    // The schedules' standing requests are approval:requested lines too: the poll below waits for the filtered page.
    await page.locator("table.audit tbody tr", { hasText: "approval:requested" }).first().waitFor()
    // Until the new page replaced the old one, the table may still hold other lines.
    await expect.poll(async () => {
      const found = await rows.allTextContents()
      return found.length > 0 && found.every((text) => text.includes("requester") && text.includes("approval:"))
    }, { timeout: 10_000 }).toBe(true)
    await screenshot(page, "09-audit")
    // The fragment holds the filters (bookmarkable), never the key; the search itself is in the log.
    expect(page.url()).not.toContain(operator.key)
    // Paging by the server's cursor: ten lines a page, Older and back to Newer.
    await page.goto(`${server.base}/ui#/audit?limit=10`)
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(10)
    const newest = await rows.allTextContents()
    await page.getByRole("button", { name: "Older" }).click()
    await expect.poll(async () => (await rows.allTextContents())[0] !== newest[0], { timeout: 10_000 }).toBe(true)
    const older = await rows.allTextContents()
    expect(older.some((text) => newest.includes(text))).toBe(false)
    // The first page is read afresh: the searches since (each one an audit line) are on top of it now.
    await page.getByRole("button", { name: "Newer" }).click()
    await expect.poll(async () => (await rows.allTextContents()).includes(newest[0]!), { timeout: 10_000 }).toBe(true)
    await page.goto(`${server.base}/ui#/audit?tool=audit.search`)
    await page.locator("table.audit tbody tr", { hasText: "audit.search" }).first().waitFor()
    expect(await unlabelledControls(page)).toEqual([])
  }, 60_000)

  it("without the admin scope: no live stream (refreshing instead), only the key's own scans and approvals, no decision", async () => {
    await page.getByRole("button", { name: "Sign out" }).click()
    await signIn(requester.key)
    await page.getByText("Live events need a key with the admin scope: refreshing every 5 s.").waitFor()
    // No audit view in the menu, and the view itself says why when its fragment is typed in.
    await page.getByRole("link", { name: "Schedules" }).waitFor()
    expect(await page.getByRole("navigation").getByRole("link", { name: "Audit" }).count()).toBe(0)
    await page.goto(`${server.base}/ui#/audit`)
    await page.getByRole("heading", { level: 1, name: "The audit log needs a key with the admin scope" }).waitFor()
    await page.getByRole("link", { name: "Dashboard" }).click()
    await page.getByText("No scans.").waitFor()
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
    for (const view of ["#/", "#/scans", `#/scans/${scanId}`, "#/approvals", "#/schedules", "#/audit"]) {
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
    await page.getByRole("navigation").getByRole("link", { name: "Audit" }).waitFor()
    await screenshot(page, "10-dashboard", { readme: true })
    const order = await tabOrder(page, 7)
    expect(order.map((step) => step.text)).toEqual([
      "Skip to content",
      "Dashboard",
      "Scans",
      "Approvals",
      "Schedules",
      "Audit",
      "Sign out"
    ])
    expect(order.every((step) => !step.outline.startsWith("none"))).toBe(true)
    // Enter on a focused link follows it; Space on a focused button presses it.
    for (let i = 0; i < 4; i++) await page.keyboard.press("Shift+Tab")
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
