import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Effect, Fiber } from "effect"
import { sha256Hex } from "../../src/http/auth.js"
import { shimmedBinaries } from "../attack/cases.js"
import { httpRequest, startHttpServer } from "../support/server.js"
import { logArgvScript, loggingShims, NMAP_XML, readShimLog, tempDir, writeShim } from "../support/shims.js"

/**
 * Issue 19 item 6: under the shipped defaults, an agent's 20 simultaneous
 * one-port calls are all answered with results (queued, not refused), and
 * the per-client fairness of issue 13 item 11 still holds: a second client
 * arriving meanwhile runs at once instead of waiting behind the first one's
 * queue. Through REST and MCP, against the built server with an nmap shim
 * that takes half a second (no packet is sent). Nothing but the keys, the
 * allowed targets and the audit path is configured.
 */

const BURST = 20
const keys = { agent: "agent-key-0123456789abcdef", other: "other-key-0123456789abcdef" }

const fixture = Effect.gen(function*() {
  const dir = yield* tempDir("agent-burst")
  loggingShims(dir, shimmedBinaries)
  const log = `${dir}/nmap-starts.log`
  writeShim(
    dir,
    "nmap",
    [
      `if [ "$1" = "--version" ]; then echo "Nmap version 7.93"; exit 0; fi`,
      logArgvScript(log, "nmap"),
      "sleep 0.5",
      `cat <<'XML'\n${NMAP_XML}\nXML`
    ].join("\n")
  )
  const server = yield* startHttpServer({
    path: dir,
    env: {
      MCP_AUTH_API_KEYS: JSON.stringify([
        { id: "agent", sha256: sha256Hex(keys.agent) },
        { id: "other", sha256: sha256Hex(keys.other) }
      ])
    }
  })
  /** The target of each nmap start, in the order they started. */
  const starts = () => readShimLog(log).map((call) => call.argv.at(-1))
  return { server, starts }
})

const oneport = (target: string) => ({ target, args: ["-p", "22"] })
const bearer = (key: string) => ({ authorization: `Bearer ${key}` })

/** The calls of `target` among the starts before the last start of `other`. */
const startedBefore = (starts: ReadonlyArray<string | undefined>, target: string, other: string) =>
  starts.slice(0, starts.lastIndexOf(other)).filter((t) => t === target).length

describe("an agent's burst under the shipped defaults", () => {
  it.scopedLive(
    "REST: 20 simultaneous one-port calls all answer with results; another client is not starved",
    () =>
      Effect.gen(function*() {
        const { server, starts } = yield* fixture
        const post = (key: string, target: string) =>
          httpRequest(server.port, "POST", "/tools/NmapTool/execute", {
            body: JSON.stringify(oneport(target)),
            headers: { "content-type": "application/json", ...bearer(key) }
          })
        const burst = yield* Effect.fork(Effect.forEach(Array.from({ length: BURST }), () => post(keys.agent, "127.0.0.1"), {
          concurrency: "unbounded"
        }))
        yield* Effect.iterate(0, {
          while: (n) => n === 0,
          body: () => Effect.sync(() => starts().length).pipe(Effect.delay("20 millis"))
        })
        const others = yield* Effect.forEach([1, 2], () => post(keys.other, "127.0.0.2"), { concurrency: "unbounded" })
        const replies = yield* Fiber.join(burst)
        for (const reply of [...replies, ...others]) {
          expect(reply.status, JSON.stringify(reply.body)).toBe(200)
          expect(reply.body.error_type).toBeNull()
          expect(reply.body.summary).toMatch(/127\.0\.0\.1/)
        }
        // The agent runs two at a time (its share of nmap's four slots): the other client's calls started at once.
        expect(startedBefore(starts(), "127.0.0.1", "127.0.0.2")).toBeLessThanOrEqual(6)
        expect(starts().filter((t) => t === "127.0.0.1")).toHaveLength(BURST)
      }),
    60_000
  )

  it.scopedLive(
    "MCP: 20 simultaneous tools/call in one session all answer with results; another client is not starved",
    () =>
      Effect.gen(function*() {
        const { server, starts } = yield* fixture
        const connect = (key: string) =>
          Effect.acquireRelease(
            Effect.promise(async () => {
              const client = new Client({ name: "burst-test", version: "1.0.0" })
              await client.connect(
                new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${server.port}/mcp`), {
                  requestInit: { headers: bearer(key) }
                })
              )
              return client
            }),
            (client) => Effect.promise(() => client.close())
          )
        const agent = yield* connect(keys.agent)
        const other = yield* connect(keys.other)
        const call = (client: Client, target: string) =>
          Effect.promise(() => client.callTool({ name: "NmapTool", arguments: oneport(target) }, undefined, { timeout: 50_000 }))
        const burst = yield* Effect.fork(
          Effect.forEach(Array.from({ length: BURST }), () => call(agent, "127.0.0.1"), { concurrency: "unbounded" })
        )
        yield* Effect.iterate(0, {
          while: (n) => n === 0,
          body: () => Effect.sync(() => starts().length).pipe(Effect.delay("20 millis"))
        })
        const others = yield* Effect.forEach([1, 2], () => call(other, "127.0.0.2"), { concurrency: "unbounded" })
        const results = yield* Fiber.join(burst)
        for (const result of [...results, ...others]) {
          expect(result.isError, JSON.stringify(result.content)).toBeFalsy()
          expect(result.structuredContent).toBeDefined()
        }
        expect(startedBefore(starts(), "127.0.0.1", "127.0.0.2")).toBeLessThanOrEqual(6)
      }),
    60_000
  )
})
