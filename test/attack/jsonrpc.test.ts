import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { atExit, killGroup } from "../support/cleanup.js"
import { memoryOf } from "../support/procfs.js"
import { eventually, SERVER_JS } from "../support/server.js"
import { loggingShims, readShimLog, tempDir } from "../support/shims.js"
import { privateStorageEnv } from "../support/storage.js"
import { ALLOWED_TARGETS, shimmedBinaries } from "./cases.js"

/** The stdio server driven by raw bytes, so the client can send what no SDK would. */
const rawStdioServer = (path: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = spawn(process.execPath, [SERVER_JS, "serve"], {
        env: {
          PATH: path,
          LANG: "C",
          MCP_SERVER_TRANSPORT: "stdio",
          MCP_SECURITY_ALLOWED_TARGETS: ALLOWED_TARGETS,
          ...privateStorageEnv()
        },
        stdio: ["pipe", "pipe", "pipe"],
        detached: true
      })
      const pid = child.pid ?? -1
      const forget = atExit(() => killGroup(pid))
      let stdout = ""
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString("utf8")
      })
      child.stderr.resume()
      child.stdin.on("error", () => undefined)
      const lines = () => stdout.split("\n").filter((line) => line !== "")
      return { child, pid, forget, lines, write: (text: string) => child.stdin.write(text) }
    }),
    ({ child, forget, pid }) =>
      Effect.sync(() => {
        child.stdin.end()
        killGroup(pid)
        forget()
      })
  )

const request = (id: number, method: string, params: unknown = {}) => `${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`

const initialize = request(1, "initialize", {
  protocolVersion: "2025-06-18",
  capabilities: {},
  clientInfo: { name: "raw", version: "1.0.0" }
})

describe("malformed JSON-RPC on stdio", () => {
  it.scopedLive("garbage, wrong versions, huge and deep lines are survived; stdout stays pure JSON-RPC", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("jsonrpc-attack")
      const { log } = loggingShims(dir, shimmedBinaries)
      const server = yield* rawStdioServer(dir)
      const responseTo = (id: number) => server.lines().map((line) => JSON.parse(line)).find((message) => message.id === id)
      const answered = (id: number) => eventually(`a response to request ${id}`, Effect.sync(() => responseTo(id) !== undefined))

      server.write(initialize)
      yield* answered(1)
      server.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`)

      server.write("garbage that is not JSON\n")
      server.write("\n\n\r\n")
      server.write(`${JSON.stringify({ jsonrpc: "1.0", id: 100, method: "tools/list" })}\n`)
      server.write(`${JSON.stringify({ id: 101, method: "tools/list" })}\n`)
      server.write(`${JSON.stringify({ jsonrpc: "2.0", id: { nested: true }, method: "tools/list" })}\n`)
      server.write(`${"[".repeat(100_000)}\n`)
      server.write(
        `{"jsonrpc":"2.0","id":102,"method":"tools/call","params":{"name":"NmapTool","arguments":{"target":"127.0.0.1","extra_args":"-sV`
      )
      server.write(`\u0000; id"}}}\n`)
      server.write(`${"x".repeat(8 * 1024 * 1024)}\n`)

      server.write(request(2, "tools/list"))
      yield* answered(2)
      expect(responseTo(2).result.tools.map((tool: { name: string }) => tool.name)).toContain("NmapTool")

      server.write(request(3, "no/such/method"))
      yield* answered(3)
      expect(responseTo(3).error.code).toBe(-32601)

      server.write(request(4, "tools/call", { name: "NmapTool", arguments: { target: "127.0.0.1||id" } }))
      yield* answered(4)
      expect(responseTo(4).result.isError).toBe(true)
      expect(responseTo(4).result.structuredContent.error._tag).toBe("TargetRejected")

      for (const line of server.lines()) expect(JSON.parse(line).jsonrpc).toBe("2.0")
      // not served: a wrong version is answered as an Invalid Request, not as tools/list
      expect(responseTo(100)).toMatchObject({ error: { code: -32600 } })
      expect(responseTo(100)?.result).toBeUndefined()
      expect(responseTo(102)?.result?.isError ?? true).toBe(true)
      expect(memoryOf(server.pid).hwm).toBeLessThan(400 * 1024 * 1024)
      expect(readShimLog(log).filter((call) => !["--version", "-V", "-v"].includes(call.argv[0] ?? ""))).toEqual([])
      expect(server.child.exitCode).toBeNull()
    }), 30_000)
})
