import type { HttpServerResponse } from "@effect/platform"
import { clientAbortFiberId } from "@effect/platform/HttpServerError"
import { Effect, Either, Exit, Runtime } from "effect"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { type PlainRefuser, ToolExecutor } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { authenticate, requireScope } from "./auth.js"
import { bodyHeadersRefusal, handOver, parseBody, readBody } from "./body.js"
import { errorResponse, type HttpError } from "./errorStatus.js"
import { EXECUTE } from "./fastLane.js"
import { answeringFailures } from "./guard.js"
import { makeHealthAnswer } from "./handlers/probes.js"
import { checkHostOrigin } from "./hostCheck.js"

/** A node:http "request" listener. */
export type NodeHandler = (request: IncomingMessage, response: ServerResponse) => void

const NO_QUERY = new URLSearchParams()

/** A body as text: Node writes a text body in one write with the head, bytes in a second buffer (a writev). */
const textOf = (body: HttpServerResponse.HttpServerResponse["body"]): string | undefined => {
  switch (body._tag) {
    case "Uint8Array":
      return Buffer.from(body.body.buffer, body.body.byteOffset, body.body.byteLength).toString("utf8")
    case "Raw":
      return typeof body.body === "string" ? body.body : undefined
    default:
      return undefined
  }
}

/**
 * What the platform's Node handler does with a finished response
 * (`handleResponse` in @effect/platform-node) for the ones answered here —
 * a JSON text or its UTF-8 bytes, no cookies: the status and headers, then
 * the same bytes.
 */
const write = (response: ServerResponse, answer: HttpServerResponse.HttpServerResponse) => {
  if (response.writableEnded) return
  response.writeHead(answer.status, answer.headers)
  response.end(textOf(answer.body))
}

/**
 * The caller of an execute request spelled exactly, when the guard (its path
 * is in normal form and has no query string: only the Host/Origin check is
 * left) and the route's `RequireScope.execute` let it through with the same
 * functions; undefined when either would answer, which the platform then does.
 */
const executeCaller = (
  config: AppConfig,
  port: number,
  request: IncomingMessage,
  headers: Readonly<Record<string, string | undefined>>
): Caller | undefined => {
  if (Either.isLeft(checkHostOrigin(config, port, headers))) return undefined
  const caller = authenticate(config, { headers, searchParams: NO_QUERY, remoteAddress: request.socket.remoteAddress }, "http")
  return Either.isRight(caller) && Either.isRight(requireScope(caller.right, "execute")) ? caller.right : undefined
}

/**
 * A refusal's answer, as `answeringFailures` gives it (`errorReply`): the
 * status, headers and body of `errorResponse`, then the body's type and
 * length, as the platform's JSON body adds them, and the same bytes.
 */
const writeRefusal = (response: ServerResponse, error: HttpError) => {
  if (response.writableEnded) return
  const { body, headers, status } = errorResponse(error)
  const text = JSON.stringify(body)
  response.writeHead(status, { ...headers, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) })
  response.end(text)
}

/**
 * `GET /health` and plainly refused `POST /tools/{name}/execute` calls
 * answered at the Node request, before @effect/platform builds its request,
 * fiber and middleware chain for them: most refused calls and health probes
 * cost less to answer than that machinery. Only the exact spellings of the
 * fast lane (fastLane.ts) are looked at, on connections within the limits;
 * `next` (the platform's handler) answers everything else, as before.
 *
 * An execute call passes the checks the platform path makes, with the same
 * functions: the guard's Host/Origin check, authentication and the execute
 * scope, the body's media type and size, its JSON; then the executor's
 * `plainRefuser`, which records a refusal as `execute` would. Anything one
 * of them does not let through here — a failed check, a body that is not
 * JSON, a call the plain steps do not refuse — goes to `next` unchanged,
 * with the body already read handed over (body.ts), so it is read once.
 * None of it runs a fiber: a refused call costs its checks, its record and
 * its answer. (Without a synchronous configuration or refuser, every execute
 * call is the platform's.)
 */
export const makeNodeLane = (port: number, refused: (socket: Socket) => boolean) =>
  Effect.gen(function*() {
    const config = yield* ConfigService
    const { plainRefuser } = yield* ToolExecutor
    const current = config.current
    const refuseNow = plainRefuser === undefined || current === undefined ? undefined : yield* plainRefuser
    const health = answeringFailures(yield* makeHealthAnswer)
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())

    /**
     * Runs a short effect and gives `done` its value: at once when it does not
     * wait, as these do not (a ready health report, a refusal). If it waits,
     * a client that goes away interrupts it, as the platform's handler does.
     */
    const run = <A>(effect: Effect.Effect<A>, response: ServerResponse, done: (value: A) => void) => {
      const fiber = runFork(effect)
      const exit = fiber.unsafePoll()
      if (exit !== null) return Exit.isSuccess(exit) ? done(exit.value) : undefined
      const abort = () => fiber.unsafeInterruptAsFork(clientAbortFiberId)
      response.once("close", abort)
      fiber.addObserver((exit) => {
        response.off("close", abort)
        if (Exit.isSuccess(exit)) done(exit.value)
      })
    }

    /** The refusal of a call whose body is `body`; a bug is answered as the guard answers one, a logged 500. */
    const refuse = (refuseNow: PlainRefuser) => (name: string, body: unknown, caller: Caller, response: ServerResponse): boolean => {
      try {
        const refusal = refuseNow(name, body, caller)
        if (refusal === undefined) return false
        writeRefusal(response, refusal)
      } catch (defect) {
        run(answeringFailures(Effect.die(defect)), response, (reply) => write(response, reply))
      }
      return true
    }
    const refuseCall = refuseNow === undefined ? undefined : refuse(refuseNow)

    const execute = (name: string, request: IncomingMessage, response: ServerResponse, next: NodeHandler) => {
      if (current === undefined || refuseCall === undefined) return next(request, response)
      const c = current()
      // Node's headers, as the platform's request has them (`Headers.fromInput`): the ones read here are never lists.
      const headers = request.headers as Readonly<Record<string, string | undefined>>
      const caller = executeCaller(c, port, request, headers)
      const maxBytes = c.server.max_body_bytes
      if (caller === undefined || bodyHeadersRefusal(headers, maxBytes) !== undefined) return next(request, response)
      readBody(request, maxBytes, (read) => {
        const body = Buffer.isBuffer(read) ? parseBody(read) : undefined
        if (body !== undefined && Either.isRight(body) && refuseCall(name, body.right, caller, response)) return
        // A client gone while its body was read has nothing left to answer (the platform would interrupt the call).
        if (request.socket.destroyed) return
        handOver(request, read)
        next(request, response)
      })
    }

    return (next: NodeHandler): NodeHandler => (request, response) => {
      if (refused(request.socket)) return next(request, response)
      const url = request.url ?? ""
      if (request.method === "GET") {
        return url === "/health" ? run(health, response, (reply) => write(response, reply)) : next(request, response)
      }
      const name = request.method === "POST" ? EXECUTE.exec(url)?.[1] : undefined
      return name === undefined ? next(request, response) : execute(name, request, response, next)
    }
  })
