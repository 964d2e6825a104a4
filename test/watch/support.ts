import { Effect, type Scope } from "effect"
import { createHmac, timingSafeEqual } from "node:crypto"
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http"
import { createServer, type Server } from "node:net"
import { sha256Hex } from "../../src/http/auth.js"
import { httpRequest } from "../support/server.js"

/**
 * What the watch tests share: TCP listeners on 127.0.0.1 the test opens and
 * closes (the only hosts scheduled scans reach), a webhook receiver on
 * loopback that checks every signature, and REST helpers.
 */

export const SECRET = "test-webhook-secret-0123456789"
export const WATCHER_KEY = "watcher-key-0123456789"
export const watcherKey = { id: "watcher", sha256: sha256Hex(WATCHER_KEY), scopes: ["execute", "schedule"] }
export const auth = { authorization: `Bearer ${WATCHER_KEY}` }

/** A listener on 127.0.0.1:`port` (0: a free one) that accepts and closes each connection gracefully; closed with the scope. */
export const openPort = (port = 0): Effect.Effect<{ readonly port: number; readonly close: Effect.Effect<void> }, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<Server>((resume) => {
      const server = createServer((socket) => {
        socket.on("error", () => undefined)
        socket.end()
      })
      server.listen(port, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  ).pipe(Effect.map((server) => ({
    port: (server.address() as { port: number }).port,
    close: Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
  })))

/** A port that was free a moment ago (nothing listens on it now). */
export const freePort = Effect.scoped(Effect.flatMap(openPort(), (p) => Effect.as(p.close, p.port)))

export interface Received {
  readonly headers: IncomingHttpHeaders
  readonly body: string
  readonly alert: any
  readonly signatureValid: boolean
}

const verify = (header: string | undefined, body: string): boolean => {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "")
  if (match === null) return false
  const expected = createHmac("sha256", SECRET).update(`${match[1]}.${body}`).digest()
  return timingSafeEqual(expected, Buffer.from(match[2]!, "hex"))
}

/** A webhook receiver on 127.0.0.1 that records every delivery and answers `status()` (200 by default). */
export const startReceiver = (status: () => number = () => 200) =>
  Effect.acquireRelease(
    Effect.async<{ readonly port: number; readonly received: Array<Received>; readonly close: () => void }>((resume) => {
      const received: Array<Received> = []
      const server = createHttpServer((req, res) => {
        let body = ""
        req.setEncoding("utf8")
        req.on("data", (chunk) => (body += chunk))
        req.on("end", () => {
          received.push({
            headers: req.headers,
            body,
            alert: JSON.parse(body),
            signatureValid: verify(req.headers["x-signature-256"] as string, body)
          })
          res.writeHead(status()).end()
        })
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          port: (server.address() as { port: number }).port,
          received,
          close: () => server.close()
        })))
    }),
    (r) => Effect.sync(r.close)
  )

export const createSchedule = (port: number, body: unknown) =>
  httpRequest(port, "POST", "/schedules", {
    body: JSON.stringify(body),
    headers: { ...auth, "content-type": "application/json" }
  })

export const getSchedule = (port: number, id: string) =>
  Effect.map(httpRequest(port, "GET", `/schedules/${id}`, { headers: auth }), (reply) => reply.body)
