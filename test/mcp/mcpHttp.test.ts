import { HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { LATEST_PROTOCOL_VERSION, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js"
import { Deferred, Duration, Effect, Ref, Scope, TestClock } from "effect"
import { makeSessionTable, sweepInterval } from "../../src/http/mcpHttp.js"
import type { Caller } from "../../src/identity/Caller.js"
import { authPatch, keys, startServer } from "../http/fakes.js"

/** The caller a fake session belongs to. */
const ownerCaller = (id: string): Caller => ({ id, transport: "mcp-http", scopes: new Set() })

const connect = (base: string, key?: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } }
      })
      const client = new Client({ name: "vitest", version: "1.0.0" })
      await client.connect(transport)
      return { client, transport }
    }),
    ({ client }) => Effect.promise(() => client.close())
  )

describe("MCP over Streamable HTTP (real SDK client, real server)", () => {
  it.scopedLive("initializes with the newest protocol and lists tools with schemas and annotations", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { client, transport } = yield* connect(base)
      expect(client.getServerVersion()).toEqual({ name: "security-mcp-server", version: "0.0.0-test" })
      expect(transport.protocolVersion).toBe(LATEST_PROTOCOL_VERSION)
      expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/)
      expect(client.getServerCapabilities()?.tools?.listChanged).toBe(true)
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((tool) => tool.name)).toEqual(["NmapTool"])
      const [nmap] = tools
      expect(nmap?.title).toBe("NmapTool title")
      expect(nmap?.inputSchema.required).toEqual(["target", "args"])
      expect(nmap?.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false, openWorldHint: true })
      expect(nmap?.outputSchema?.type).toBe("object")
    }), 20_000)

  it.scopedLive(
    "tools/call returns text and structuredContent that the client validates against outputSchema",
    () =>
      Effect.gen(function*() {
        const { base, fake } = yield* startServer()
        const { client } = yield* connect(base)
        yield* Effect.promise(() => client.listTools())
        const result = yield* Effect.promise(() =>
          client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", extra_args: "-n" } })
        )
        expect(result.isError).toBe(false)
        expect(result.content).toEqual([{ type: "text", text: "1 host up: 127.0.0.1" }])
        expect(result.structuredContent).toMatchObject({
          result: { hosts: [{ address: "127.0.0.1" }] },
          execution: { tool: "NmapTool", returncode: 0, target: "127.0.0.1", argv: ["nmap", "-n", "127.0.0.1"] }
        })
        const [call] = yield* Ref.get(fake.calls)
        expect(call?.caller.transport).toBe("mcp-http")
        expect(call?.input).toEqual({ target: "127.0.0.1", extra_args: "-n" })
      }),
    20_000
  )

  it.scopedLive("a timed-out process is isError with its structured detail", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { client } = yield* connect(base)
      yield* Effect.promise(() => client.listTools())
      const result = yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "timeout" } }))
      expect(result.isError).toBe(true)
      expect(JSON.stringify(result.content)).toContain("Timed out after 1 s")
      expect(JSON.stringify(result.content)).toContain("nmap: giving up")
      expect(result.structuredContent).toMatchObject({ result: null, execution: { timed_out: true, error_type: "timeout" } })
    }), 20_000)

  it.scopedLive("typed errors are isError results with a structured error body, never protocol errors", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { client } = yield* connect(base)
      yield* Effect.promise(() => client.listTools())
      const rejected = yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "badarg" } }))
      expect(rejected.isError).toBe(true)
      expect(rejected.structuredContent).toEqual({
        error: { _tag: "ArgumentRejected", message: "Flag --evil is not allowed", token: "--evil", rule: "flag-not-allowed" }
      })
      const limited = yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "ratelimited" } }))
      expect(limited.structuredContent).toMatchObject({ error: { _tag: "RateLimited", retryAfterSeconds: 6.2 } })
      const unknown = yield* Effect.promise(() => client.callTool({ name: "NoSuchTool", arguments: { target: "127.0.0.1" } }))
      expect(unknown.isError).toBe(true)
      expect(unknown.structuredContent).toMatchObject({ error: { _tag: "ToolNotFound" } })
      expect(JSON.stringify(unknown)).not.toContain("at ")
    }), 20_000)

  it.scopedLive("progress notifications reach the client when it sends a progressToken", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { client } = yield* connect(base)
      const seen: Array<{ progress: number; total?: number; message?: string }> = []
      const result = yield* Effect.promise(() =>
        client.callTool({ name: "NmapTool", arguments: { target: "progress" } }, undefined, {
          onprogress: (progress) => seen.push(progress),
          resetTimeoutOnProgress: true
        })
      )
      expect(result.isError).toBe(false)
      expect(seen).toEqual([
        { progress: 1, total: 3, message: "step 1" },
        { progress: 2, total: 3, message: "step 2" },
        { progress: 3, total: 3, message: "step 3" }
      ])
    }), 20_000)

  it.scopedLive("cancelling a call interrupts the execution fiber", () =>
    Effect.gen(function*() {
      const { base, fake } = yield* startServer()
      const { client } = yield* connect(base)
      const abort = new AbortController()
      const call = client.callTool({ name: "NmapTool", arguments: { target: "slow" } }, undefined, { signal: abort.signal })
      call.catch(() => undefined)
      yield* Deferred.await(fake.started)
      abort.abort("user cancelled")
      yield* Effect.promise(() => call.then(() => "resolved", () => "rejected")).pipe(
        Effect.map((outcome) => expect(outcome).toBe("rejected"))
      )
      const interruptedCaller = yield* Deferred.await(fake.interrupted).pipe(Effect.timeout("10 seconds"))
      expect(interruptedCaller).toBe("anonymous@127.0.0.1")
    }), 20_000)

  it.scopedLive("closing the session aborts its in-flight calls", () =>
    Effect.gen(function*() {
      const { base, fake } = yield* startServer()
      const { client, transport } = yield* connect(base)
      const call = client.callTool({ name: "NmapTool", arguments: { target: "slow" } })
      call.catch(() => undefined)
      yield* Deferred.await(fake.started)
      yield* Effect.promise(() => transport.terminateSession())
      yield* Deferred.await(fake.interrupted).pipe(Effect.timeout("10 seconds"))
    }), 20_000)

  it.scopedLive("enabling a tool sends tools/list_changed and the list follows", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { client } = yield* connect(base)
      const changed = yield* Deferred.make<void>()
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
        Deferred.unsafeDone(changed, Effect.void)
      })
      // the client opens its GET stream for server notifications on its own after initialize; until it is
      // there a notification has nowhere to go, so enable again until one arrives
      yield* Effect.gen(function*() {
        const enabled = yield* Effect.promise(() => fetch(`${base}/tools/PingTool/enable`, { method: "POST" }))
        expect(enabled.status).toBe(200)
        yield* Deferred.await(changed).pipe(Effect.timeout("500 millis"))
      }).pipe(Effect.retry({ times: 20 }))
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((tool) => tool.name).sort()).toEqual(["NmapTool", "PingTool"])
    }), 20_000)

  it.scopedLive("requires a key when auth is on, and a session belongs to the key that opened it", () =>
    Effect.gen(function*() {
      const { base, fake } = yield* startServer(authPatch)
      const anonymous = yield* Effect.promise(() =>
        fetch(`${base}/mcp`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "initialize",
            params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "x", version: "1" } }
          })
        })
      )
      expect(anonymous.status).toBe(401)
      const { client, transport } = yield* connect(base, keys.executor)
      yield* Effect.promise(() => client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1" } }))
      const [call] = yield* Ref.get(fake.calls)
      expect(call?.caller.id).toBe("exec")
      expect([...(call?.caller.scopes ?? [])]).toEqual(["execute"])
      const hijack = yield* Effect.promise(() =>
        fetch(`${base}/mcp`, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            accept: "application/json, text/event-stream",
            authorization: `Bearer ${keys.admin}`,
            "mcp-session-id": transport.sessionId ?? "",
            "mcp-protocol-version": LATEST_PROTOCOL_VERSION
          },
          body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" })
        })
      )
      expect(hijack.status).toBe(404)
    }), 20_000)

  it.scopedLive("DELETE ends the session; its id is then unknown", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const { transport } = yield* connect(base)
      const id = transport.sessionId ?? ""
      yield* Effect.promise(() => transport.terminateSession())
      const after = yield* Effect.promise(() =>
        fetch(`${base}/mcp`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": id },
          body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" })
        })
      )
      expect(after.status).toBe(404)
    }), 20_000)
})

/** Initializes a session without the SDK (and so without its GET stream); returns the session id. */
const initializeRaw = (base: string) =>
  fetch(`${base}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "raw", version: "1" } }
    })
  }).then(async (response) => {
    await response.text()
    return response.headers.get("mcp-session-id") ?? ""
  })

describe("MCP HTTP session limits", () => {
  it.scopedLive("one client may hold only mcp_sessions_per_client sessions", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer({ server: { mcp_sessions_per_client: 2 } })
      yield* connect(base)
      yield* connect(base)
      const third = yield* Effect.promise(() =>
        fetch(`${base}/mcp`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({
            jsonrpc: "2.0",
            id: 1,
            method: "initialize",
            params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "third", version: "1" } }
          })
        }).then(async (response) => ({ status: response.status, text: await response.text() }))
      )
      expect(third.status).toBe(429)
      expect(third.text).toContain("MCP sessions of anonymous@127.0.0.1 are busy")
    }), 20_000)

  it.scoped(
    "sessions idle past mcp_session_idle_timeout are closed and free their slot; an open stream keeps one alive",
    () =>
      Effect.gen(function*() {
        const { base } = yield* startServer({ server: { mcp_sessions_per_client: 2, mcp_session_idle_timeout: 1 } })
        // A client that initialized and vanished: no stream open, no DELETE.
        const vanished = yield* Effect.promise(() => initializeRaw(base))
        // The SDK client keeps a GET stream open for server notifications.
        const { client } = yield* connect(base)
        // The test clock, not real time, passes the idle timeout.
        yield* TestClock.adjust("2 seconds")
        yield* connect(base)
        const stale = yield* Effect.promise(() =>
          fetch(`${base}/mcp`, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": vanished },
            body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "ping" })
          }).then((response) => response.status)
        )
        expect(stale).toBe(404)
        const { tools } = yield* Effect.promise(() => client.listTools())
        expect(tools.length).toBeGreaterThan(0)
      }),
    20_000
  )
})

describe("MCP HTTP session table", () => {
  const fakeSession = (owner: string) =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const closed = yield* Deferred.make<void>()
      yield* Scope.addFinalizer(scope, Deferred.succeed(closed, undefined))
      return { session: { transport: {} as never, scope, owner, current: { caller: ownerCaller(owner) }, runningTasks: () => 0 }, closed }
    })

  it.scoped("the scheduled sweep closes idle sessions with no request arriving; a busy one stays", () =>
    Effect.gen(function*() {
      const table = yield* makeSessionTable
      const idle = yield* fakeSession("a")
      const busy = yield* fakeSession("b")
      table.add("idle", idle.session)
      table.add("busy", busy.session)
      yield* table.sweep(60_000)
      // A response still streaming: in flight until its body ends, which it never does here.
      yield* table.serve(table.get("busy")!, () => Effect.succeed(HttpServerResponse.empty()))
      yield* TestClock.adjust("59 seconds")
      expect(table.size()).toBe(2)
      yield* TestClock.adjust(Duration.toMillis(sweepInterval(60_000)) + 2_000)
      yield* Deferred.await(idle.closed)
      expect(table.get("idle")).toBeUndefined()
      expect(table.get("busy")).toBeDefined()
      expect(yield* Deferred.isDone(busy.closed)).toBe(false)
    }))

  it("sweeps a quarter of the idle timeout apart, between 1 s and 1 min", () => {
    expect(Duration.toMillis(sweepInterval(0))).toBe(1_000)
    expect(Duration.toMillis(sweepInterval(1_800_000))).toBe(60_000)
    expect(Duration.toMillis(sweepInterval(60_000))).toBe(15_000)
  })
})

const post = (base: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
    body: JSON.stringify(body)
  })

const initializeBody = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: "raw", version: "1" } }
}

const ping = (base: string, session: string) =>
  post(base, { jsonrpc: "2.0", id: 2, method: "ping" }, { "mcp-session-id": session, "mcp-protocol-version": LATEST_PROTOCOL_VERSION })
    .then(async (r) => ({ status: r.status, text: await r.text() }))

describe("MCP HTTP: clients that never DELETE are not locked out", () => {
  it.scopedLive("a client over its limit replaces its least recently used idle session", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer({ server: { mcp_sessions_per_client: 3 } })
      const ids: Array<string> = []
      for (let i = 0; i < 3; i++) ids.push(yield* Effect.promise(() => initializeRaw(base)))
      // the first one was used last, so the second is the least recently used
      expect((yield* Effect.promise(() => ping(base, ids[0]!))).status).toBe(200)
      for (let i = 0; i < 2; i++) ids.push(yield* Effect.promise(() => initializeRaw(base)))
      const statuses = yield* Effect.forEach(ids, (id) => Effect.promise(() => ping(base, id)).pipe(Effect.map((r) => r.status)))
      expect(statuses).toEqual([200, 404, 404, 200, 200])
      const gone = yield* Effect.promise(() => ping(base, ids[1]!))
      expect(gone.text).toContain("send initialize again without Mcp-Session-Id")
    }), 20_000)

  it.scopedLive("when every session of the client is busy the new one gets 429 with Retry-After", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer({ server: { mcp_sessions_per_client: 1 } })
      yield* connect(base) // the SDK client keeps its GET stream open: busy
      const refused = yield* Effect.promise(() => post(base, initializeBody))
      expect(refused.status).toBe(429)
      expect(refused.headers.get("retry-after")).toBe("5")
      expect(yield* Effect.promise(() => refused.text())).toContain("are busy; retry later or close one")
    }), 20_000)

  it.scoped("at the server-wide limit the least recently used idle session of anybody goes; with none idle, no room", () =>
    Effect.gen(function*() {
      const table = yield* makeSessionTable
      const fake = (owner: string, running = 0) =>
        Effect.map(Scope.make(), (scope) => ({
          transport: {} as never,
          scope,
          owner,
          current: { caller: ownerCaller(owner) },
          runningTasks: () => running
        }))
      table.add("a-old", yield* fake("a"))
      yield* TestClock.adjust("1 second")
      table.add("b-new", yield* fake("b"))
      table.add("c-task", yield* fake("c", 1))
      const limits = { maxSessions: 3, maxPerClient: 10, idleTimeoutMs: 60_000 }
      expect(yield* table.makeRoom("d", limits)).toBe("ok")
      expect(table.get("a-old")).toBeUndefined()
      table.add("d", yield* fake("d"))
      yield* table.serve(table.get("b-new")!, () => Effect.succeed(HttpServerResponse.empty()))
      yield* table.serve(table.get("d")!, () => Effect.succeed(HttpServerResponse.empty()))
      // b and d have a response in flight, c runs a task: nobody is idle
      expect(yield* table.makeRoom("e", limits)).toBe("server")
      expect(table.size()).toBe(3)
    }))
})

describe("MCP HTTP modes", () => {
  it.scopedLive("stateless: no session id, every POST self-contained, GET refused", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer({ server: { mcp_stateless: true } })
      const init = yield* Effect.promise(() => post(base, initializeBody))
      expect(init.status).toBe(200)
      expect(init.headers.get("mcp-session-id")).toBeNull()
      yield* Effect.promise(() => init.text())
      const list = yield* Effect.promise(() => post(base, { jsonrpc: "2.0", id: 7, method: "tools/list" }, { accept: "application/json" }))
      const body = (yield* Effect.promise(() => list.json())) as {
        id: number
        result: { tools: Array<{ name: string; execution?: unknown }> }
      }
      expect(body.id).toBe(7)
      expect(body.result.tools.map((t) => t.name)).toEqual(["NmapTool"])
      expect(body.result.tools[0]?.execution).toBeUndefined()
      const call = yield* Effect.promise(() =>
        post(base, { jsonrpc: "2.0", id: 8, method: "tools/call", params: { name: "NmapTool", arguments: { target: "127.0.0.1" } } }, {
          accept: "application/json"
        })
      )
      expect(((yield* Effect.promise(() => call.json())) as { result: { isError: boolean } }).result.isError).toBe(false)
      const get = yield* Effect.promise(() => fetch(`${base}/mcp`, { headers: { accept: "text/event-stream" } }))
      expect(get.status).toBe(405)
      // a real client works too
      const client = yield* connect(base)
      expect((yield* Effect.promise(() => client.client.listTools())).tools.length).toBe(1)
    }), 20_000)

  it.scopedLive("a client that accepts only application/json gets a JSON body, not 406", () =>
    Effect.gen(function*() {
      const { base } = yield* startServer()
      const init = yield* Effect.promise(() => post(base, initializeBody, { accept: "application/json" }))
      expect(init.status).toBe(200)
      expect(init.headers.get("content-type")).toContain("application/json")
      const session = init.headers.get("mcp-session-id") ?? ""
      expect(((yield* Effect.promise(() => init.json())) as { result: { serverInfo: unknown } }).result.serverInfo).toBeDefined()
      const headers = { accept: "application/json", "mcp-session-id": session, "mcp-protocol-version": LATEST_PROTOCOL_VERSION }
      const call = yield* Effect.promise(() =>
        post(
          base,
          { jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "NmapTool", arguments: { target: "progress" } } },
          headers
        )
      )
      expect(call.headers.get("content-type")).toContain("application/json")
      expect(yield* Effect.promise(() => call.json())).toMatchObject({ id: 3, result: { isError: false } })
    }), 20_000)

  it.scopedLive(
    "resumable streams: events carry ids, a priming event with retry comes first, Last-Event-ID replays what was missed",
    () =>
      Effect.gen(function*() {
        const { base } = yield* startServer()
        const init = yield* Effect.promise(() =>
          post(base, { ...initializeBody, params: { ...initializeBody.params, protocolVersion: "2025-11-25" } })
        )
        const session = init.headers.get("mcp-session-id") ?? ""
        yield* Effect.promise(() => init.text())
        const headers = { "mcp-session-id": session, "mcp-protocol-version": "2025-11-25" }
        const call = yield* Effect.promise(() =>
          post(base, { jsonrpc: "2.0", id: 5, method: "tools/call", params: { name: "NmapTool", arguments: { target: "ok" } } }, headers)
        )
        const text = yield* Effect.promise(() => call.text())
        const events = text.split("\n\n").filter((e) => e.trim() !== "")
        expect(events[0]).toMatch(/^id: \S+\nretry: 2000\ndata: ?$/m)
        const ids = events.map((e) => /^id: (\S+)$/m.exec(e)?.[1])
        expect(ids.every((id) => id !== undefined)).toBe(true)
        // as if the stream had dropped right after the priming event: the result comes back on a GET with Last-Event-ID
        const replay = yield* Effect.promise(() =>
          fetch(`${base}/mcp`, { headers: { ...headers, accept: "text/event-stream", "last-event-id": ids[0]! } })
        )
        expect(replay.status).toBe(200)
        const reader = replay.body!.pipeThrough(new TextDecoderStream()).getReader()
        let replayed = ""
        while (!replayed.includes("\"id\":5")) replayed += (yield* Effect.promise(() => reader.read())).value ?? ""
        yield* Effect.promise(() => reader.cancel())
        expect(replayed).toContain("\"isError\":false")
      }),
    20_000
  )
})
