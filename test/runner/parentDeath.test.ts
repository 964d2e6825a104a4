import { describe, expect, it } from "@effect/vitest"
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { killGroup } from "../../src/runner/Spawner.js"
import { privateStorageEnv } from "../support/storage.js"
import { isAlive } from "./processes.js"

const server = join(process.cwd(), "dist", "server.js")

/**
 * A server killed with SIGKILL cannot run finalizers; the parent-death signal
 * set through setpriv must still take its running tools down with it.
 */
describe("tools die with a SIGKILLed server", () => {
  it.skipIf(!existsSync(server) || spawnSync("setpriv", ["--version"]).status !== 0)(
    "a hanging custom tool is killed when the server process is SIGKILLed",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "mcp-pdeath-"))
      const pidFile = join(dir, "pid")
      const shim = join(dir, "hang")
      writeFileSync(
        shim,
        `#!/bin/sh\n[ "$1" = --version ] && exit 0\necho $$ > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}\nexec sleep 300\n`,
        { mode: 0o755 }
      )
      const child = spawn(process.execPath, [server, "serve", "--transport", "http", "--port", "0"], {
        env: {
          ...process.env,
          ...privateStorageEnv(),
          MCP_SECURITY_ALLOWED_TARGETS: "loopback",
          MCP_RATE_LIMIT_ENABLED: "false",
          MCP_CUSTOM_TOOLS: JSON.stringify([{ name: "Hang", description: "hangs", binary: shim, flags: [], trusted_script: true }])
        },
        stdio: ["ignore", "ignore", "pipe"]
      })
      try {
        const port = await new Promise<number>((resolve, reject) => {
          let text = ""
          child.stderr!.on("data", (chunk: Buffer) => {
            text += chunk.toString()
            const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(text)
            if (match) resolve(Number(match[1]))
          })
          child.once("exit", () => reject(new Error(`server exited early: ${text}`)))
        })
        void fetch(`http://127.0.0.1:${port}/tools/Hang/execute`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ target: "127.0.0.1" })
        }).catch(() => undefined)
        const toolPid = await waitFor(() => (existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8")) : undefined))
        expect(isAlive(toolPid)).toBe(true)
        child.kill("SIGKILL")
        const died = await waitFor(() => (isAlive(toolPid) ? undefined : true))
        expect(died).toBe(true)
      } finally {
        child.kill("SIGKILL")
        if (existsSync(pidFile)) killGroup(Number(readFileSync(pidFile, "utf8")))
        rmSync(dir, { recursive: true, force: true })
      }
    },
    70_000
  )
})

/** Up to 30 s: a loaded CI machine is slow to start a server and its tools. */
const waitFor = async <A>(probe: () => A | undefined): Promise<A> => {
  for (let i = 0; i < 300; i++) {
    const value = probe()
    if (value !== undefined) return value
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error("timed out waiting")
}
