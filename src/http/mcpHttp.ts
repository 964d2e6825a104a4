import { HttpServerResponse } from "@effect/platform"
import type { HttpServerRequest } from "@effect/platform"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, Exit, Runtime, Scope } from "effect"
import { randomUUID } from "node:crypto"
import type { Events } from "../events/Events.js"
import type { ToolExecutor } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { type HandlerExtra, makeMcpServer, type ServerInfo } from "../mcp/McpServer.js"

interface Session {
  readonly transport: WebStandardStreamableHTTPServerTransport
  readonly scope: Scope.CloseableScope
  /** The caller that opened the session; nobody else may use its id. */
  readonly owner: string
  /** Monotonic clock milliseconds of the last request or response end. */
  lastUsed: number
  /** Requests being answered now (until their response starts): a busy session is never idle. */
  inFlight: number
}

export interface SessionLimits {
  readonly maxSessions: number
  readonly maxPerClient: number
  /** Sessions with no request for this long are closed, since clients that vanish never send DELETE. */
  readonly idleTimeoutMs: number
}

/** How often idle sessions are looked for: a quarter of the idle timeout, between 1 s and 1 min. */
export const sweepInterval = (idleTimeoutMs: number): Duration.Duration =>
  Duration.millis(Math.min(60_000, Math.max(1_000, idleTimeoutMs / 4)))

/** Requests carry the authenticated caller to the tool handlers through the SDK's auth info. */
const callerOf = (extra: HandlerExtra): Caller => {
  const caller = extra.authInfo?.extra?.["caller"] as Caller | undefined
  return caller ?? { id: "unauthenticated", transport: "mcp-http", scopes: new Set() }
}

const rpcError = (status: number, code: number, message: string) =>
  HttpServerResponse.unsafeJson({ jsonrpc: "2.0", error: { code, message }, id: null }, { status })

const toWebRequest = (request: HttpServerRequest.HttpServerRequest): Request => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) headers.set(name, value)
  return new Request(`http://${request.headers["host"] ?? "localhost"}${request.url}`, { method: request.method, headers })
}

/** The same response, calling `end` once its body has been read to the end or cancelled (or at once without a body). */
const untilBodyEnds = (response: Response, end: () => void): Response => {
  if (response.body === null) {
    end()
    return response
  }
  const reader = response.body.getReader()
  const body = new ReadableStream<Uint8Array>({
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

export interface McpHttpHandler {
  /** `body` is the parsed JSON of a POST (read and size-checked by the caller). */
  readonly handle: (
    request: HttpServerRequest.HttpServerRequest,
    caller: Caller,
    body: unknown,
    limits: SessionLimits
  ) => Effect.Effect<HttpServerResponse.HttpServerResponse>
}

/**
 * The open sessions of one handler. A session ends on DELETE or transport
 * close, when idle past the timeout, and with the handler's scope. Clients
 * that vanish never send DELETE, so idle sessions are swept on a schedule,
 * not only when the next request comes; sessions exist only after a
 * request, so the latest request's idle timeout is known whenever there is
 * anything to sweep. Idle time is measured on `Clock`'s monotonic reading.
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
    const idle = [...sessions].filter(([, s]) => s.inFlight === 0 && idleTimeoutMs !== undefined && now - s.lastUsed > idleTimeoutMs)
    return Effect.forEach(idle, ([id]) => close(id), { discard: true })
  })
  yield* Effect.suspend(() => Effect.sleep(sweepInterval(idleTimeoutMs ?? 0))).pipe(
    Effect.zipRight(closeIdle),
    Effect.forever,
    Effect.forkScoped
  )

  /**
   * Counts the request as in flight until its response is over: for an SSE
   * stream (a GET, or a POST answered by streaming) that is when the stream
   * ends or the client goes away, so a session listening on a stream is
   * never closed as idle.
   */
  const serve = (session: Session, run: () => Promise<Response>) =>
    Effect.suspend(() => {
      session.inFlight += 1
      session.lastUsed = nowMs()
      let ended = false
      const end = () => {
        if (ended) return
        ended = true
        session.inFlight -= 1
        session.lastUsed = nowMs()
      }
      return Effect.promise(run).pipe(
        Effect.map((response) => HttpServerResponse.fromWeb(untilBodyEnds(response, end))),
        Effect.onExit((exit) => (exit._tag === "Failure" ? Effect.sync(end) : Effect.void))
      )
    })

  return {
    get: (id: string) => sessions.get(id),
    size: () => sessions.size,
    ownedBy: (owner: string) => [...sessions.values()].filter((session) => session.owner === owner).length,
    add: (id: string, session: Omit<Session, "lastUsed" | "inFlight">) => sessions.set(id, { ...session, lastUsed: nowMs(), inFlight: 0 }),
    close,
    /** Takes the request's idle timeout for the sweeps and closes the sessions already past it. */
    sweep: (timeoutMs: number) =>
      Effect.suspend(() => {
        idleTimeoutMs = timeoutMs
        return closeIdle
      }),
    serve
  }
})

/**
 * MCP Streamable HTTP with stateful sessions: each `initialize` creates an
 * MCP server and transport in its own scope; DELETE, transport close and
 * shutdown (this handler's scope) close it, which aborts its in-flight calls.
 */
export const makeMcpHttpHandler = (
  info: ServerInfo
): Effect.Effect<McpHttpHandler, never, ToolExecutor | Events | Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Effect.context<ToolExecutor | Events>()
    const runtime = yield* Effect.runtime<never>()
    const sessions = yield* makeSessionTable

    const open = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* makeMcpServer({ info, callerOf }).pipe(Scope.extend(scope), Effect.provide(context))
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() })
      yield* Effect.promise(() => server.connect(transport))
      server.onclose = () => {
        const id = transport.sessionId
        if (id !== undefined) Runtime.runFork(runtime)(sessions.close(id))
      }
      return { transport, scope }
    })

    const handle: McpHttpHandler["handle"] = (request, caller, body, limits) =>
      Effect.gen(function*() {
        yield* sessions.sweep(limits.idleTimeoutMs)
        const authInfo = { token: caller.id, clientId: caller.id, scopes: [...caller.scopes], extra: { caller } }
        const sessionId = request.headers["mcp-session-id"]
        if (sessionId !== undefined) {
          const session = sessions.get(sessionId)
          if (session === undefined || session.owner !== caller.id) return rpcError(404, -32001, "Session not found")
          return yield* sessions.serve(
            session,
            () => session.transport.handleRequest(toWebRequest(request), { parsedBody: body ?? undefined, authInfo })
          )
        }
        if (request.method !== "POST" || !isInitializeRequest(body)) {
          return rpcError(400, -32000, "Bad Request: missing Mcp-Session-Id header (send initialize first)")
        }
        if (sessions.size() >= limits.maxSessions) return rpcError(503, -32000, "Too many MCP sessions; close unused ones (DELETE /mcp)")
        if (sessions.ownedBy(caller.id) >= limits.maxPerClient) {
          return rpcError(429, -32000, `Too many MCP sessions for ${caller.id}; close unused ones (DELETE /mcp)`)
        }
        const { scope, transport } = yield* open
        const response = yield* Effect.promise(() => transport.handleRequest(toWebRequest(request), { parsedBody: body, authInfo }))
        if (transport.sessionId === undefined) yield* Scope.close(scope, Exit.void)
        else sessions.add(transport.sessionId, { transport, scope, owner: caller.id })
        return HttpServerResponse.fromWeb(response)
      })

    return { handle }
  })
