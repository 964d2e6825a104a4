import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { Agent } from "node:http"
import { join } from "node:path"
import { shimmedBinaries } from "../attack/cases.js"
import { killGroup } from "../support/cleanup.js"
import { groupMembers, memoryOf } from "../support/procfs.js"
import { eventually, executeHttp, httpRequest, type ServerOptions, startHttpServer } from "../support/server.js"
import { loggingShims, tempDir, writeShim } from "../support/shims.js"

/**
 * Faults of tools and of the server itself, against the real server with
 * custom tools that are shim scripts. Every target is 127.0.0.1; the built-in
 * tools' binaries are shims too, so nothing here sends a packet.
 */

const MB = 1024 * 1024
const RSS_BOUND = 400 * MB

const version = (name: string) => `if [ "$1" = "--version" ]; then echo "${name} 1.0"; exit 0; fi`

interface Fixture {
  readonly dir: string
  readonly hangPid: string
  readonly crashFlag: string
  readonly options: (env?: Record<string, string>) => ServerOptions
}

/** Shim tools in a temp dir, and server options that offer them as custom tools. */
const fixture = Effect.gen(function*() {
  const dir = yield* tempDir("mcp-fault")
  loggingShims(dir, shimmedBinaries)
  const hangPid = join(dir, "hang.pid")
  const crashFlag = join(dir, "crash")
  // The shims are sh scripts: the operator's explicit trust (trusted_script) lets them pass the custom-tool binary check.
  const tools = [
    { name: "Hang", binary: writeShim(dir, "hang", `${version("hang")}\necho $$ > '${hangPid}'\ntrap '' TERM\nsleep 300`), timeout: 60 },
    { name: "Flood", binary: writeShim(dir, "flood", `${version("flood")}\nhead -c 1073741824 /dev/zero`), timeout: 60 },
    {
      name: "Crashy",
      binary: writeShim(dir, "crashy", `${version("crashy")}\nif [ -e '${crashFlag}' ]; then kill -SEGV $$; fi\necho fine`)
    },
    { name: "Sleepy", binary: writeShim(dir, "sleepy", `${version("sleepy")}\nsleep 0.05\necho rested`), concurrency: 2 },
    { name: "Missing", binary: join(dir, "not-installed") }
  ].map((tool) => ({ description: `${tool.name} shim`, flags: [], trusted_script: true, ...tool }))
  const options = (env: Record<string, string> = {}): ServerOptions => ({
    path: dir,
    env: {
      MCP_SECURITY_ALLOWED_TARGETS: "127.0.0.1/32",
      MCP_RATE_LIMIT_ENABLED: "false",
      MCP_SECURITY_KILL_GRACE_SECONDS: "1",
      MCP_CUSTOM_TOOLS: JSON.stringify(tools),
      ...env
    }
  })
  return { dir, hangPid, crashFlag, options } satisfies Fixture
})

const toolInfo = (port: number, name: string) =>
  Effect.map(
    httpRequest(port, "GET", "/tools"),
    (reply) => (reply.body as Array<{ name: string }>).find((tool) => tool.name === name) as any
  )

const TIMEOUT = { timeout: 60_000 }

describe("tool faults", () => {
  it.scopedLive("a missing binary makes only that tool unavailable", () =>
    Effect.gen(function*() {
      const { options } = yield* fixture
      const server = yield* startHttpServer(options())
      const missing = yield* toolInfo(server.port, "Missing")
      expect(missing).toMatchObject({ available: false })
      expect(missing.unavailableReason).toMatch(/not-installed/)
      yield* eventually(
        "health reports the missing tool",
        Effect.map(
          httpRequest(server.port, "GET", "/health"),
          (reply) =>
            reply.body?.checks?.tool_availability?.status === "degraded" &&
            String(reply.body.checks.tool_availability.message).includes("Missing")
        )
      )
      const call = yield* executeHttp(server.port, "Missing", { target: "127.0.0.1" })
      expect(call.status).toBe(503)
      expect(call.body.detail._tag).toBe("ToolUnavailable")
      const other = yield* executeHttp(server.port, "Sleepy", { target: "127.0.0.1" })
      expect(other.status).toBe(200)
      expect(other.body.stdout).toContain("rested")
    }), TIMEOUT)

  it.scopedLive("a tool that ignores SIGTERM times out and its whole process group is killed", () =>
    Effect.gen(function*() {
      const { hangPid, options } = yield* fixture
      const server = yield* startHttpServer(options())
      const reply = yield* executeHttp(server.port, "Hang", { target: "127.0.0.1", timeout_sec: 1 })
      expect(reply.status).toBe(200)
      expect(reply.body).toMatchObject({ timed_out: true, error_type: "timeout" })
      const pid = Number(readFileSync(hangPid, "utf8"))
      yield* eventually("the hang shim's process group is gone", Effect.sync(() => groupMembers(pid).length === 0), Duration.seconds(5))
    }), TIMEOUT)

  it.scopedLive("a tool flooding 1 GiB of output is truncated and the server's memory stays bounded", () =>
    Effect.gen(function*() {
      const { options } = yield* fixture
      const server = yield* startHttpServer(options())
      const reply = yield* executeHttp(server.port, "Flood", { target: "127.0.0.1" })
      expect(reply.status).toBe(200)
      expect(reply.body.truncated_stdout).toBe(true)
      expect(reply.body.stdout.length).toBeLessThanOrEqual(1048576)
      expect(memoryOf(server.pid).hwm).toBeLessThan(RSS_BOUND)
    }), TIMEOUT)

  it.scopedLive(
    "a crashing tool opens its circuit, callers get CircuitOpen with Retry-After, then it recovers",
    () =>
      Effect.gen(function*() {
        const { crashFlag, options } = yield* fixture
        writeFileSync(crashFlag, "")
        const server = yield* startHttpServer(options({
          MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD: "3",
          MCP_CIRCUIT_BREAKER_RECOVERY_TIMEOUT: "1"
        }))
        for (let i = 0; i < 3; i++) {
          const crash = yield* executeHttp(server.port, "Crashy", { target: "127.0.0.1" })
          expect(crash.status).toBe(200)
          expect(crash.body).toMatchObject({ signal: "SIGSEGV", error_type: "signal" })
        }
        const open = yield* executeHttp(server.port, "Crashy", { target: "127.0.0.1" })
        expect(open.status).toBe(503)
        expect(open.body.detail._tag).toBe("CircuitOpen")
        expect(Number(open.headers["retry-after"])).toBeGreaterThanOrEqual(1)
        expect((yield* toolInfo(server.port, "Crashy")).circuitState).toBe("OPEN")
        const sleepy = yield* executeHttp(server.port, "Sleepy", { target: "127.0.0.1" })
        expect(sleepy.status).toBe(200)

        rmSync(crashFlag)
        yield* eventually(
          "the circuit lets a trial call through and closes",
          Effect.map(
            executeHttp(server.port, "Crashy", { target: "127.0.0.1" }),
            (reply) => reply.status === 200 && reply.body.error === null
          ),
          Duration.seconds(10)
        )
        expect((yield* toolInfo(server.port, "Crashy")).circuitState).toBe("CLOSED")
      }),
    TIMEOUT
  )

  it.scopedLive(
    "1000 concurrent calls of a tool with 2 slots all get a clean answer and memory stays bounded",
    () =>
      Effect.gen(function*() {
        const { options } = yield* fixture
        // 100 sockets from one address: the per-address cap (item 11) would answer some of them first.
        const server = yield* startHttpServer(options({ MCP_SERVER_MAX_CONNECTIONS: "200", MCP_SERVER_MAX_CONNECTIONS_PER_ADDRESS: "200" }))
        const agent = new Agent({ keepAlive: true, maxSockets: 100 })
        yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))
        const replies = yield* Effect.forEach(
          Array.from({ length: 1000 }),
          () => executeHttp(server.port, "Sleepy", { target: "127.0.0.1" }, agent),
          { concurrency: "unbounded" }
        )
        const outcomes = replies.map((reply) => reply.status === 200 ? "ok" : `${reply.status} ${reply.body?.detail?._tag}`)
        const unexpected = outcomes.filter((o) => !["ok", "503 ToolBusy", "429 RateLimited"].includes(o))
        expect(unexpected).toEqual([])
        expect(outcomes.filter((o) => o === "ok").length).toBeGreaterThanOrEqual(2)
        expect(replies.filter((r) => r.status === 503).every((r) => r.headers["retry-after"] !== undefined)).toBe(true)
        expect(memoryOf(server.pid).hwm).toBeLessThan(RSS_BOUND)
        const after = yield* executeHttp(server.port, "Sleepy", { target: "127.0.0.1" })
        expect(after.status).toBe(200)
      }),
    TIMEOUT
  )
})

describe("configuration faults", () => {
  it.scopedLive(
    "a corrupted config file during hot reload is rejected and the previous configuration stays in force",
    () =>
      Effect.gen(function*() {
        const { dir, options } = yield* fixture
        const configFile = join(dir, "config.yaml")
        // Valid versions are swapped in atomically, so a poll never reads a half-written good file.
        const writeConfig = (pingEnabled: boolean) => {
          writeFileSync(`${configFile}.next`, `server:\n  config_watch_interval: 0.2\ntools:\n  PingTool:\n    enabled: ${pingEnabled}\n`)
          renameSync(`${configFile}.next`, configFile)
        }
        writeConfig(true)
        const server = yield* startHttpServer({ ...options(), configFile })
        const pingEnabled = Effect.map(toolInfo(server.port, "PingTool"), (tool) => tool.enabled as boolean)
        const rejections = () => server.stderr().split("reload rejected").length - 1
        expect(yield* pingEnabled).toBe(true)

        writeConfig(false)
        yield* eventually("the valid change applies", Effect.map(pingEnabled, (enabled) => !enabled))

        writeFileSync(configFile, "tools:\n  PingTool: [unclosed\n    enabled: {")
        yield* eventually("the corrupt file is rejected", Effect.sync(() => rejections() === 1))
        writeFileSync(configFile, "security:\n  max_output_size: lots\n")
        yield* eventually("the invalid value is rejected", Effect.sync(() => rejections() === 2))
        expect(yield* pingEnabled).toBe(false)
        const call = yield* executeHttp(server.port, "Sleepy", { target: "127.0.0.1" })
        expect(call.status).toBe(200)

        writeConfig(true)
        yield* eventually("a fixed file applies again", pingEnabled)
      }),
    TIMEOUT
  )
})

describe("server termination mid-scan", () => {
  const midScan = (signal: NodeJS.Signals) =>
    Effect.gen(function*() {
      const { dir, hangPid, options } = yield* fixture
      const audit = join(dir, "audit.log")
      const server = yield* startHttpServer(options({
        MCP_SERVER_SHUTDOWN_GRACE_PERIOD: "1",
        MCP_SECURITY_AUDIT_LOG_PATH: audit
      }))
      yield* executeHttp(server.port, "Sleepy", { target: "8.8.8.8" })
      yield* executeHttp(server.port, "Sleepy", { target: "127.0.0.1" })
      const call = yield* Effect.fork(Effect.either(executeHttp(server.port, "Hang", { target: "127.0.0.1" })))
      yield* eventually("the hang shim started", Effect.sync(() => existsSync(hangPid) && readFileSync(hangPid, "utf8").trim() !== ""))
      const pid = Number(readFileSync(hangPid, "utf8"))
      server.child.kill(signal)
      const exit = yield* Effect.promise(() => server.exited).pipe(Effect.timeout(Duration.seconds(15)))
      yield* Fiber.interrupt(call)
      const lines = readFileSync(audit, "utf8").split("\n").filter((line) => line !== "")
      const entries = lines.map((line) => JSON.parse(line) as { tool: string; outcome: string; target: string })
      return { pid, exit, entries }
    })

  it.scopedLive("SIGTERM: running tools are killed, no process outlives the server, the audit log is intact", () =>
    Effect.gen(function*() {
      const { entries, exit, pid } = yield* midScan("SIGTERM")
      expect(exit.code).toBe(0)
      yield* eventually("the hang shim's process group is gone", Effect.sync(() => groupMembers(pid).length === 0), Duration.seconds(5))
      expect(entries.map((e) => `${e.tool} ${e.target} ${e.outcome}`)).toEqual([
        "Sleepy 8.8.8.8 rejected",
        "Sleepy 127.0.0.1 started",
        "Sleepy 127.0.0.1 success",
        "Hang 127.0.0.1 started",
        "Hang 127.0.0.1 cancelled"
      ])
    }), TIMEOUT)

  it.scopedLive(
    "SIGKILL: the watchdog kills the running tool's whole process group, the audit log is intact",
    () =>
      Effect.gen(function*() {
        const { entries, exit, pid } = yield* midScan("SIGKILL")
        yield* Effect.addFinalizer(() => Effect.sync(() => killGroup(pid)))
        expect(exit.signal).toBe("SIGKILL")
        // The shim's sh forks its sleep: only a group kill (not the parent-death signal alone) reaches it.
        yield* eventually("the hang shim's process group is gone", Effect.sync(() => groupMembers(pid).length === 0), Duration.seconds(5))
        // The hang's started line stays without an outcome: the next start-up records it as interrupted.
        expect(entries.map((e) => `${e.tool} ${e.outcome}`)).toEqual([
          "Sleepy rejected",
          "Sleepy started",
          "Sleepy success",
          "Hang started"
        ])
      }),
    TIMEOUT
  )
})
