import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { eventually, startHttpServer } from "../support/server.js"
import { tempDir } from "../support/shims.js"

/**
 * The configured logger is in place before any service starts a fiber of
 * its own: what the audit log's start-up recovery reports (a fiber forked
 * while the services are built) is in the configured format and in the log
 * file, not in the start-up logger's text on stderr only.
 */

const unfinished = {
  timestamp: "2026-01-01T00:00:00.000Z",
  caller_id: "stdio",
  caller_transport: "stdio",
  caller_address: null,
  tool: "NmapTool",
  target: "127.0.0.1",
  resolved_target: "127.0.0.1",
  argv: ["nmap", "-n", "-sT", "127.0.0.1"],
  intrusive: false,
  correlation_id: "c-1",
  execution_id: "e-unfinished",
  decision: "allowed",
  outcome: "started"
}

const jsonLines = (text: string) =>
  text.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>)

describe("the server's logger", () => {
  it.scopedLive("logs what a service's own fiber reports at start-up in the configured format and file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("logging")
      const audit = join(dir, "audit.jsonl")
      const logFile = join(dir, "server.log")
      writeFileSync(audit, `${JSON.stringify(unfinished)}\n`)
      const server = yield* startHttpServer({
        env: { MCP_SECURITY_AUDIT_LOG_PATH: audit, MCP_LOGGING_FORMAT: "json", MCP_LOGGING_FILE_PATH: logFile }
      })
      const recovered = (text: string) =>
        jsonLines(text).find((line) => String(line["message"]).includes("execution e-unfinished of NmapTool"))
      yield* eventually(
        "the recovery warning in the log file",
        Effect.sync(() => existsSync(logFile) && recovered(readFileSync(logFile, "utf8")) !== undefined)
      )
      expect(recovered(readFileSync(logFile, "utf8"))).toMatchObject({ logLevel: "WARN" })
      expect(recovered(server.stderr())).toMatchObject({ logLevel: "WARN" })
      expect(server.stderr()).not.toContain("level=WARN")
    }), { timeout: 60_000 })
})
