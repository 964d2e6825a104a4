import { afterAll, describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { createServer, type Server } from "node:net"
import { cleanup, requireBuild, serverEnv, startHttpServer, waitFor } from "../e2e/support/processes.js"
import { foreignMarkup } from "./support.js"

/**
 * The done criterion: a real nmap scan (`-n -sT -Pn -sV --script banner`,
 * through the built server, of 127.0.0.1 only) of a loopback listener whose
 * banner is hostile, stored, then reported in Markdown and HTML and
 * exported as CSV, with the banner as text everywhere.
 */

const BANNER = "SSH-2.0-OpenSSH_9.2p1 <script>alert(1)</script> =HYPERLINK(\"http://x\")"

const servers: Array<Server> = []
const clients: Array<Client> = []

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)))
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  await cleanup()
}, 30_000)

/** A listener on 127.0.0.1 that greets with the banner and closes gracefully a little later. */
const bannerListener = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer((socket) => {
      socket.on("error", () => undefined)
      socket.write(`${BANNER}\r\n`)
      setTimeout(() => socket.end(), 2_000).unref()
    })
    servers.push(server)
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      return address === null || typeof address === "string" ? reject(new Error("no TCP address")) : resolve(address.port)
    })
  })

const fetchText = async (base: string, path: string, init?: RequestInit) => {
  const response = await fetch(`${base}${path}`, init)
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
}

describe("a report of a real nmap scan of a loopback listener", () => {
  it("renders in Markdown and HTML, and exports as CSV, with the hostile banner as text", async () => {
    requireBuild()
    const port = await bannerListener()
    const server = await startHttpServer([], serverEnv())
    const args = ["-sT", "-Pn", "-sV", "--script", "banner", "-p", String(port)]
    const run = await fetchText(server.base, "/tools/NmapTool/execute", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ target: "127.0.0.1", args })
    })
    expect(run.status).toBe(200)
    const executed = JSON.parse(run.text)
    expect(executed.metadata.argv).toContain("-n")
    const id: string = executed.scan_id
    await waitFor(`scan ${id} to be stored as ended`, async () => {
      const stored = await fetchText(server.base, `/scans/${id}`)
      return stored.status === 200 && JSON.parse(stored.text).outcome !== "running" ? true : undefined
    })

    const md = await fetchText(server.base, `/scans/${id}/report`)
    expect([md.status, md.type]).toEqual([200, "text/markdown; charset=utf-8"])
    expect(md.text).toContain(`| ${port}/tcp | open | syn-ack | \`ssh\` |`)
    expect(md.text).toContain("- **Outcome:** **succeeded**, exit code 0")
    expect(md.text).toContain(`**${port}/tcp** script \`banner\``)
    expect(md.text).toContain("```text\nSSH-2.0-OpenSSH_9.2p1 <script>alert(1)</script>")
    const outsideCode = md.text.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, "").replace(/(`+)[^`][\s\S]*?\1/g, "")
    expect(outsideCode).not.toContain("<script")

    const html = await fetchText(server.base, `/scans/${id}/report?format=html`)
    expect([html.status, html.type]).toEqual([200, "text/html; charset=utf-8"])
    expect(foreignMarkup(html.text)).toEqual([])
    expect(html.text).toContain("SSH-2.0-OpenSSH_9.2p1 &lt;script&gt;alert(1)&lt;/script&gt; =HYPERLINK(&quot;http://x&quot;)")
    expect(html.text).toContain(`<td>${port}/tcp</td><td>open</td>`)

    const csv = await fetchText(server.base, `/scans/${id}/export?format=csv`)
    expect(csv.text).toContain(`"127.0.0.1","","up","tcp","${port}","open","syn-ack","ssh"`)
    expect(csv.text).toMatch(/,"[^"]*\bbanner\b[^"]*"\r\n$/)

    const client = new Client({ name: "reports-e2e", version: "1.0.0" })
    clients.push(client)
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.base}/mcp`)))
    const viaTool = await client.callTool({ name: "ScanReport", arguments: { scan_id: id, baseline_scan_id: null, target: null } })
    expect((viaTool.content as Array<{ text?: string }>)[0]!.text).toContain(`| ${port}/tcp | open | syn-ack | \`ssh\` |`)
  }, 90_000)
})
