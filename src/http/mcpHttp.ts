import { HttpServerResponse } from "@effect/platform"
import type { HttpServerRequest } from "@effect/platform"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, Exit, Runtime, Scope } from "effect"
import { randomUUID } from "node:crypto"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import type { Events } from "../events/Events.js"
import { ExecutionGate } from "../execution/ExecutionGate.js"
import type { ToolExecutor } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { MemoryEventStore } from "../mcp/eventStore.js"
import { type HandlerExtra, makeMcpServer, type ServerInfo } from "../mcp/McpServer.js"

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly scope: Scope.CloseableScope
  /** The caller that opened the session; nobody else may use its id. */
  readonly owner: string
  /** The owner as of its latest request: its key's scopes now, for what the session does on its own. */
  readonly current: { caller: Caller }
  /** Tasks the session's server is running: they die with the session, so it is not idle while they run. */
  readonly runningTasks: () => number
  /** Monotonic clock milliseconds of the last request or response end. */
  lastUsed: number
  /** Requests being answered now (until their response ends): a busy session is never idle. */
  inFlight: number
}

export interface SessionLimits {
  readonly maxSessions: number
  readonly maxPerClient: number
  /** Sessions with no request for this long are closed, since clients that vanish never send DELETE. */
  readonly idleTimeoutMs: number
}

/** What a client is told to wait before trying again when every session it could replace is busy. */
export const BUSY_RETRY_AFTER_SECONDS = 5

/** How long an SSE client should wait before reconnecting to a resumable stream (the `retry:` of the priming event). */
export const SSE_RETRY_MS = 2_000

/** How often idle sessions are looked for: a quarter of the idle timeout, between 1 s and 1 min. */
export const sweepInterval = (idleTimeoutMs: number): Duration.Duration =>
  Duration.millis(Math.min(60_000, Math.max(1_000, idleTimeoutMs / 4)))

/** Requests carry the authenticated caller to the tool handlers through the SDK's auth info. */
const callerOf = (extra: HandlerExtra): Caller => {
  const caller = extra.authInfo?.extra?.["caller"] as Caller | undefined
  return caller ?? { id: "unauthenticated", transport: "mcp-http", scopes: new Set() }
}

const rpcError = (status: number, code: number, message: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson({ jsonrpc: "2.0", error: { code, message }, id: null }, { status, headers })

const busy = (status: 429 | 503, message: string) => rpcError(status, -32000, message, { "retry-after": String(BUSY_RETRY_AFTER_SECONDS) })

/** A draining server opens no session: its load balancer sends the client elsewhere, or it retries after the restart. */
const draining = () =>
  rpcError(
    503,
    -32000,
    "The server is shutting down and opens no new MCP sessions; connect to another instance or retry after the restart"
  )

const accepts = (request: HttpServerRequest.HttpServerRequest, type: string) => {
  const accept = request.headers["accept"] ?? ""
  return accept.includes(type) || accept.includes("*/*")
}

/**
 * A POST from a client that accepts only `application/json` (JSON response
 * mode): the transport is asked for its SSE answer and the JSON-RPC
 * responses are collected from it into one JSON body. Notifications on the
 * way (progress, log messages) have no place in such a body and are dropped.
 */
const wantsJsonOnly = (request: HttpServerRequest.HttpServerRequest) =>
  request.method === "POST" && !(request.headers["accept"] ?? "").includes("text/event-stream") && accepts(request, "application/json")

const toWebRequest = (request: HttpServerRequest.HttpServerRequest): Request => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) headers.set(name, value)
  if (wantsJsonOnly(request)) headers.set("accept", "application/json, text/event-stream")
  return new Request(`http://${request.headers["host"] ?? "localhost"}${request.url}`, { method: request.method, headers })
}

/** The JSON-RPC responses in an SSE body (events whose data is a message with an id and a result or error). */
export const responsesIn = (sse: string): ReadonlyArray<unknown> =>
  sse.split(/\r?\n\r?\n/).flatMap((event) => {
    const data = event.split(/\r?\n/).filter((line) => line.startsWith("data:")).map((line) => line.slice(5).replace(/^ /, "")).join("\n")
    if (data.trim() === "") return []
    try {
      const message = JSON.parse(data) as Record<string, unknown>
      return "id" in message && ("result" in message || "error" in message) ? [message] : []
    } catch {
      return []
    }
  })

/** An SSE answer as the JSON body a JSON-only client asked for: one response, or an array for a batch. */
const asJson = async (response: Response, batch: boolean): Promise<Response> => {
  if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) return response
  const responses = responsesIn(await response.text())
  const headers = new Headers(response.headers)
  headers.set("content-type", "application/json")
  return new Response(JSON.stringify(batch ? responses : responses[0] ?? null), { status: response.status, headers })
}

/**
 * An SSE comment sent first on a session's standalone GET stream: Node sends
 * a response's headers with its first bytes, so without it a client (and any
 * proxy in between) would not see the stream open until the server had
 * something to say. SSE clients ignore comment lines. (POST streams start
 * with the transport's priming event or their answer.)
 */
const STREAM_OPEN = new TextEncoder().encode(": stream open\n\n")

/** The same response, calling `end` once its body has been read to the end or cancelled (or at once without a body). */
const untilBodyEnds = (response: Response, method: string, end: () => void): Response => {
  if (response.body === null) {
    end()
    return response
  }
  const reader = response.body.getReader()
  const standaloneStream = method === "GET" && (response.headers.get("content-type") ?? "").includes("text/event-stream")
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (standaloneStream) controller.enqueue(STREAM_OPEN)
    },
    async pull(controller) {
      const chunk = await reader.read().catch((error: unknown) => {
        end()
        throw error
      })
      if (chunk.done) {
        end()
        controller.close()
      } else {
        controller.enqueue(chunk.value)
      }
    },
    cancel(reason) {
      end()
      return reader.cancel(reason)
    }
  })
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
}

/** Runs one request through a transport, as JSON for a JSON-only client, calling `end` when the response is over. */
const answer = (
  transport: WebStandardStreamableHTTPServerTransport,
  request: HttpServerRequest.HttpServerRequest,
  options: { readonly parsedBody: unknown; readonly authInfo: NonNullable<Parameters<typeof transport.handleRequest>[1]>["authInfo"] },
  end: () => void
) =>
  Effect.promise(async () => {
    const response = await transport.handleRequest(toWebRequest(request), options)
    return untilBodyEnds(wantsJsonOnly(request) ? await asJson(response, Array.isArray(options.parsedBody)) : response, request.method, end)
  }).pipe(
    Effect.map((response) => HttpServerResponse.fromWeb(response)),
    Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(end) : Effect.void))
  )

export interface McpHttpHandler {
  /** `body` is the parsed JSON of a POST (read and size-checked by the caller). */
  readonly handle: (
    request: HttpServerRequest.HttpServerRequest,
    caller: Caller,
    body: unknown,
    limits: SessionLimits
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
}

const isIdle = (session: Session) => session.inFlight === 0 && session.runningTasks() === 0

/** The least recently used idle session among those `owner` holds (anybody's when undefined). */
const leastRecentlyUsedIdle = (sessions: ReadonlyMap<string, Session>, owner: string | undefined) => {
  let found: [string, Session] | undefined
  for (const [id, session] of sessions) {
    const candidate = (owner === undefined || session.owner === owner) && isIdle(session)
    if (candidate && (found === undefined || session.lastUsed < found[1].lastUsed)) found = [id, session]
  }
  return found
}

/**
 * The open sessions of one handler. A session ends on DELETE or transport
 * close, when idle past the timeout, when a new session needs its place,
 * and with the handler's scope. Clients that vanish never send DELETE, so
 * idle sessions are swept on a schedule, not only when the next request
 * comes. A session is idle when it has no request in flight, no open
 * stream and no running task; idle time is measured on `Clock`'s monotonic
 * reading.
 */
export const makeSessionTable = Effect.gen(function*() {
  const sessions = new Map<string, Session>()
  const clock = yield* Effect.clock
  const nowMs = () => Number(clock.unsafeCurrentTimeNanos() / 1_000_000n)
  let idleTimeoutMs: number | undefined

  const close = (id: string) => {
    const session = sessions.get(id)
    if (session === undefined) return Effect.void
    sessions.delete(id)
    return Scope.close(session.scope, Exit.void)
  }
  yield* Effect.addFinalizer(() => Effect.forEach([...sessions.keys()], close, { discard: true }))

  const closeIdle = Effect.suspend(() => {
    const now = nowMs()
    const idle = [...sessions].filter(([, s]) => isIdle(s) && idleTimeoutMs !== undefined && now - s.lastUsed > idleTimeoutMs)
    return Effect.forEach(idle, ([id]) => close(id), { discard: true })
  })
  yield* Effect.suspend(() => Effect.sleep(sweepInterval(idleTimeoutMs ?? 0))).pipe(
    Effect.zipRight(closeIdle),
    Effect.forever,
    Effect.forkScoped
  )

  const evict = (entry: [string, Session], why: string) =>
    close(entry[0]).pipe(
      Effect.zipRight(Effect.logInfo(`closed idle MCP session of ${entry[1].owner} ${why}`)),
      Effect.as(true)
    )

  /**
   * Makes room for a new session of `owner`: at its per-client limit its own
   * least recently used idle session goes; at the global limit, the least
   * recently used idle one of anybody. False when every candidate is busy.
   */
  const makeRoom = (owner: string, limits: SessionLimits) =>
    Effect.gen(function*() {
      if (ownedBy(owner) >= limits.maxPerClient) {
        const own = leastRecentlyUsedIdle(sessions, owner)
        if (own === undefined) return "client" as const
        yield* evict(own, `to make room for its new one (mcp_sessions_per_client ${limits.maxPerClient})`)
      }
      if (sessions.size >= limits.maxSessions) {
        const any = leastRecentlyUsedIdle(sessions, undefined)
        if (any === undefined) return "server" as const
        yield* evict(any, `to make room for a new session (server limit ${limits.maxSessions})`)
      }
      return "ok" as const
    })

  const ownedBy = (owner: string) => [...sessions.values()].filter((session) => session.owner === owner).length

  /**
   * Counts the request as in flight until its response is over: for an SSE
   * stream (a GET, or a POST answered by streaming) that is when the stream
   * ends or the client goes away, so a session listening on a stream is
   * never closed as idle.
   */
  const serve = (session: Session, run: (end: () => void) => Effect.Effect<HttpServerResponse.HttpServerResponse>) =>
    Effect.suspend(() => {
      session.inFlight += 1
      session.lastUsed = nowMs()
      let ended = false
      return run(() => {
        if (ended) return
        ended = true
        session.inFlight -= 1
        session.lastUsed = nowMs()
      })
    })

  return {
    get: (id: string) => sessions.get(id),
    size: () => sessions.size,
    ownedBy,
    add: (id: string, session: Omit<Session, "lastUsed" | "inFlight">) => sessions.set(id, { ...session, lastUsed: nowMs(), inFlight: 0 }),
    close,
    makeRoom,
    /** Takes the request's idle timeout for the sweeps and closes the sessions already past it. */
    sweep: (timeoutMs: number) =>
      Effect.suspend(() => {
        idleTimeoutMs = timeoutMs
        return closeIdle
      }),
    serve
  }
})

type Context = Effect.Effect.Context<ReturnType<typeof makeMcpServer>>

/** The transport of a new session or of one stateless request, as the configuration asks. */
const newTransport = (config: AppConfig, stateless: boolean) => {
  const buffer = config.server.mcp_event_buffer_bytes
  return new WebStandardStreamableHTTPServerTransport({
    ...(stateless ? {} : { sessionIdGenerator: () => randomUUID() }),
    ...(stateless || buffer === 0 ? {} : { eventStore: new MemoryEventStore(buffer), retryInterval: SSE_RETRY_MS })
  })
}

/**
 * MCP Streamable HTTP. Stateful (the default): each `initialize` creates an
 * MCP server and transport in its own scope, kept until DELETE, transport
 * close, idleness, eviction or shutdown (this handler's scope), which aborts
 * its in-flight calls; SSE events are kept for replay (`Last-Event-ID`).
 * Stateless (`server.mcp_stateless`): every POST gets a server of its own
 * that lives as long as its response; there are no session ids, no GET
 * stream and no tasks.
 */
export const makeMcpHttpHandler = (
  info: ServerInfo
): Effect.Effect<McpHttpHandler, never, ToolExecutor | Events | ConfigService | ExecutionGate | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<Context>()
    const config = yield* ConfigService
    const gate = yield* ExecutionGate
    const runtime = yield* Effect.runtime<never>()
    const sessions = yield* makeSessionTable

    const open = (caller: Caller, c: AppConfig, stateless: boolean) =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const current = { caller }
        const mcp = yield* makeMcpServer({
          info,
          callerOf,
          sessionCaller: () => current.caller,
          ...(stateless ? { tasks: false } : {})
        }).pipe(
          Scope.extend(scope),
          Effect.provide(context)
        )
        const transport = newTransport(c, stateless)
        yield* Effect.promise(() => mcp.server.connect(transport))
        return { transport, scope, runningTasks: mcp.runningTasks, current }
      })

    const stateless = (request: HttpServerRequest.HttpServerRequest, caller: Caller, body: unknown, c: AppConfig) =>
      Effect.gen(function*() {
        if (request.method !== "POST") {
          return rpcError(405, -32000, "Method not allowed: this server runs stateless (server.mcp_stateless), so only POST", {
            allow: "POST"
          })
        }
        const { scope, transport } = yield* open(caller, c, true)
        const end = () => Runtime.runFork(runtime)(Scope.close(scope, Exit.void))
        return yield* answer(transport, request, { parsedBody: body, authInfo: authInfoOf(caller) }, end)
      })

    const initialize = (request: HttpServerRequest.HttpServerRequest, caller: Caller, body: unknown, limits: SessionLimits, c: AppConfig) =>
      Effect.gen(function*() {
        const room = yield* sessions.makeRoom(caller.id, limits)
        if (room === "client") {
          return busy(429, `All ${limits.maxPerClient} MCP sessions of ${caller.id} are busy; retry later or close one (DELETE /mcp)`)
        }
        if (room === "server") return busy(503, `All ${limits.maxSessions} MCP sessions of this server are busy; retry later`)
        const { current, runningTasks, scope, transport } = yield* open(caller, c, false)
        const response = yield* Effect.promise(() =>
          transport.handleRequest(toWebRequest(request), { parsedBody: body, authInfo: authInfoOf(caller) })
        )
        if (transport.sessionId === undefined) yield* Scope.close(scope, Exit.void)
        else sessions.add(transport.sessionId, { transport, scope, owner: caller.id, current, runningTasks })
        whenClosed(transport, (id) => Runtime.runFork(runtime)(sessions.close(id)))
        return HttpServerResponse.fromWeb(wantsJsonOnly(request) ? yield* Effect.promise(() => asJson(response, false)) : response)
      })

    const handle: McpHttpHandler["handle"] = (request, caller, body, limits) =>
      Effect.gen(function*() {
        const c = yield* config.get
        if (request.method === "POST" && isInitializeRequest(body) && (yield* gate.draining)) return draining()
        if (c.server.mcp_stateless) return yield* stateless(request, caller, body, c)
        yield* sessions.sweep(limits.idleTimeoutMs)
        const sessionId = request.headers["mcp-session-id"]
        if (sessionId !== undefined) {
          const session = sessions.get(sessionId)
          if (session === undefined || session.owner !== caller.id) {
            return rpcError(404, -32001, "Session not found: it ended or was replaced; send initialize again without Mcp-Session-Id")
          }
          session.current.caller = caller
          return yield* sessions.serve(
            session,
            (end) => answer(session.transport, request, { parsedBody: body ?? undefined, authInfo: authInfoOf(caller) }, end)
          )
        }
        if (request.method !== "POST" || !isInitializeRequest(body)) {
          return rpcError(400, -32000, "Bad Request: missing Mcp-Session-Id header (send initialize first)")
        }
        return yield* initialize(request, caller, body, limits, c)
      })

    return { handle }
  })

/** Calls `f` with the session id when the transport closes (its server closed), after the SDK's own close handling. */
const whenClosed = (transport: WebStandardStreamableHTTPServerTransport, f: (sessionId: string) => void) => {
  const closed = transport.onclose
  transport.onclose = () => {
    closed?.()
    if (transport.sessionId !== undefined) f(transport.sessionId)
  }
}

const authInfoOf = (caller: Caller) => ({ token: caller.id, clientId: caller.id, scopes: [...caller.scopes], extra: { caller } })
