import { type HttpApp, HttpServerRequest } from "@effect/platform"
import { Effect } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { AuditLog } from "../observability/AuditLog.js"
import { guard } from "./guard.js"
import { makeHealthAnswer } from "./handlers/probes.js"
import { authorize } from "./handlers/security.js"
import { makeExecute } from "./handlers/tools.js"
import { HOST_CHECK_EXEMPT } from "./HttpApp.js"

/** `/tools/{name}/execute` with a name that needs no decoding; any other spelling takes the declared route. */
export const EXECUTE = /^\/tools\/([A-Za-z0-9_-]{1,128})\/execute$/

/**
 * The two routes taken most often — `GET /health` (load balancers, agents
 * polling) and `POST /tools/{name}/execute` (every call, refused ones
 * included) — answered without HttpApi's router, path decoding and
 * per-endpoint middleware chain, which cost more than the rest of a refused
 * call. Only the plainest spelling takes the lane: the exact path with no
 * query string; everything else, and every other route, is `app`.
 *
 * Nothing is skipped: an execute call passes the same guard as the HttpApi
 * app (normal form, secrets in the query, Host/Origin, the typed error body
 * for every failure) and the same authentication and scope check as the
 * route's `RequireScope.execute`; both routes have the same handlers
 * (`makeExecute`, `makeHealthAnswer`), so the lane answers exactly as the
 * declared route would (test/http/fastLane.test.ts compares the two).
 */
export const makeFastLane = (port: number) =>
  Effect.gen(function*() {
    const config = yield* ConfigService
    const health = yield* makeHealthAnswer
    const execute = yield* makeExecute
    const authorized = authorize({ config, audit: yield* AuditLog }, "execute")
    const guarded = guard({ config: config.get, port, exempt: HOST_CHECK_EXEMPT })
    // The exact target `/health` is in normal form, has no query string and is exempt from the Host/Origin check:
    // the guard would hand it on unchanged, and its answer cannot fail.
    const healthLane = health
    // The platform serves a request uninterruptibly and its router lets a route be interrupted (a client that goes
    // away cancels its call): so does the lane.
    const executeLane = (name: string) =>
      Effect.interruptible(guarded(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.flatMap(authorized(), (caller) =>
          execute(request, name, caller)))))
    return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const url = request.url
        if (request.method === "GET") {
          return url === "/health" ? healthLane : app
        }
        if (request.method !== "POST") {
          return app
        }
        const name = EXECUTE.exec(url)?.[1]
        return name === undefined ? app : executeLane(name)
      })
  })
