import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync, realpathSync } from "node:fs"
import { join } from "node:path"
import { SAFE_PATH } from "../../src/runner/resolveBinary.js"
import { cleanup, requireBuild, serverEnv, startListener } from "../e2e/support/processes.js"
import { close, connect, errorOf, execution } from "../packaging/support.js"

/**
 * The built server on a host without util-linux's prlimit and setpriv, as on
 * macOS or a minimal Linux: both are hidden inside a private mount namespace
 * (/dev/null bound over every copy on the search path), which needs root.
 */

const hiddenPaths = [
  ...new Set(
    ["prlimit", "setpriv"].flatMap((name) =>
      [...SAFE_PATH.split(":"), ...(process.env["PATH"] ?? "").split(":")]
        .filter((dir) => dir.startsWith("/"))
        .map((dir) => join(dir, name))
        .filter((path) => existsSync(path))
        .map((path) => realpathSync(path))
    )
  )
]

const canHide = process.getuid?.() === 0 &&
  spawnSync("unshare", ["--mount", "--propagation", "private", "--", "true"]).status === 0

/** unshare, then a fixed script (no caller data) that hides the wrappers and execs the server with `args`. */
const hidden = (args: ReadonlyArray<string>): [string, ReadonlyArray<string>] => [
  "unshare",
  [
    "--mount",
    "--propagation",
    "private",
    "--",
    "/bin/sh",
    "-c",
    `${hiddenPaths.map((path) => `mount --bind /dev/null ${path}`).join(" && ")} && exec "$@"`,
    "sh",
    process.execPath,
    requireBuild(),
    ...args
  ]
]

let port = 0

beforeAll(async () => {
  port = await startListener()
})

afterAll(() => cleanup())

describe.skipIf(!canHide)("without prlimit and setpriv", () => {
  it("validate lists the missing protections, what still holds, and the fix", () => {
    const [command, args] = hidden(["validate"])
    const run = spawnSync(command, args, { env: serverEnv(), encoding: "utf8" })
    expect(run.status).toBe(1)
    expect(run.stdout).toContain("[FAIL] kernel resource limits: prlimit (util-linux) not found")
    expect(run.stdout).toContain("[FAIL] parent-death signal: setpriv (util-linux) not found")
    expect(run.stdout).toContain("[PASS] process-group kill on timeout, cancellation and shutdown")
    expect(run.stdout).toContain("[PASS] watchdog")
    expect(run.stdout).toMatch(
      /\[FAIL\] security.resource_limits is enforce: every tool call fails with ResourceLimitsUnavailable\. Fix: install util-linux/
    )

    const relaxed = spawnSync(command, args, { env: serverEnv({ MCP_SECURITY_RESOURCE_LIMITS: "best_effort" }), encoding: "utf8" })
    expect(relaxed.status).toBe(0)
    expect(relaxed.stdout).toContain("[WARN] kernel resource limits: prlimit (util-linux) not found")
    expect(relaxed.stdout).toContain("[WARN] security.resource_limits is best_effort")
  }, 30_000)

  it("a tool call fails with ResourceLimitsUnavailable naming the fix, and keeps failing that way (no circuit opens)", async () => {
    const [command, args] = hidden(["serve", "--transport", "stdio"])
    const session = await connect(command, args, serverEnv(), process.cwd())
    let log = ""
    session.transport.stderr?.on("data", (chunk: Buffer) => log += chunk.toString())
    try {
      for (let i = 0; i < 6; i++) {
        const result = await session.client.callTool({
          name: "NmapTool",
          arguments: { target: "127.0.0.1", args: ["-n", "-sT", "-p", String(port)] }
        })
        expect(result.isError).toBe(true)
        expect(errorOf(result)).toMatchObject({ _tag: "ResourceLimitsUnavailable", missing: ["resource_limits", "parent_death_signal"] })
        expect(errorOf(result)["message"]).toContain("MCP_SECURITY_RESOURCE_LIMITS=best_effort")
      }
      // The start-up log says it once, not per call.
      expect(log.match(/tool processes lack: kernel resource limits/g)).toHaveLength(1)
    } finally {
      await close(session)
    }
  }, 60_000)

  it("with security.resource_limits: best_effort the scan runs unwrapped and its result says which limits did not hold", async () => {
    const [command, args] = hidden(["serve", "--transport", "stdio"])
    const session = await connect(command, args, serverEnv({ MCP_SECURITY_RESOURCE_LIMITS: "best_effort" }), process.cwd())
    try {
      const result = await session.client.callTool({
        name: "NmapTool",
        arguments: { target: "127.0.0.1", args: ["-n", "-sT", "-p", String(port)] }
      })
      expect(result.isError).toBe(false)
      const run = execution(result)
      expect(run["returncode"]).toBe(0)
      expect(run["argv"][0]).toBe(execFileSync("sh", ["-c", "command -v nmap"], { encoding: "utf8" }).trim())
      expect(run["notes"]).toEqual(expect.arrayContaining([
        expect.stringContaining("prlimit was not found: no address-space, open-file, core-dump or CPU-time limit"),
        expect.stringContaining("setpriv was not found: no parent-death signal")
      ]))
      const text = (result.content as ReadonlyArray<{ text: string }>)[0]!.text
      expect(text).toContain("prlimit was not found")
    } finally {
      await close(session)
    }
  }, 60_000)
})
