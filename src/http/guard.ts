import { type HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import type { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Effect, Either } from "effect"
import type { AppConfig } from "../config/schema.js"
import { InvalidInput } from "../errors.js"
import { HTTP_ERROR_TAGS } from "./api/errors.js"
import { rejectSecretsInQuery } from "./auth.js"
import { InternalError, NotFound } from "./errors.js"
import { errorResponse, type HttpError } from "./errorStatus.js"
import { checkHostOrigin } from "./hostCheck.js"
import { pathIssue } from "./normalPath.js"
import { splitTarget } from "./url.js"

export const errorReply = (error: HttpError): HttpServerResponse.HttpServerResponse => {
  const { body, headers, status } = errorResponse(error)
  return HttpServerResponse.unsafeJson(body, { status, headers })
}

const isHttpError = (error: unknown): error is HttpError =>
  typeof error === "object" && error !== null && HTTP_ERROR_TAGS.has((error as { readonly _tag?: unknown })._tag as string)

const tagOf = (error: unknown) => (typeof error === "object" && error !== null ? (error as { readonly _tag?: unknown })._tag : undefined)

/** Every failure as the typed error body: unknown routes 404, HttpApi's own decoding failures 400, anything else a logged 500. */
const reply = (error: unknown) => {
  if (isHttpError(error)) return Effect.succeed(errorReply(error))
  switch (tagOf(error)) {
    case "RouteNotFound":
      return Effect.succeed(errorReply(new NotFound({ message: "No such endpoint" })))
    case "HttpApiDecodeError": {
      const { issues, message } = error as HttpApiDecodeError
      return Effect.succeed(
        errorReply(new InvalidInput({ message, issues: issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`) }))
      )
    }
    default:
      return internal(error)
  }
}

const internal = (cause: unknown) =>
  Effect.logError("HTTP handler failed", cause).pipe(Effect.as(errorReply(new InternalError({ message: "Internal server error" }))))

/** Every failure of `effect` answered as the guard answers it: the typed error body, or a logged 500. */
export const answeringFailures = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A | HttpServerResponse.HttpServerResponse, never, R> =>
  effect.pipe(Effect.catchAll(reply), Effect.catchAllDefect(internal))

/** A path that is not in normal form is refused, never interpreted: see normalPath.ts. */
const notNormal = (issue: string) =>
  errorReply(
    new InvalidInput({
      message: `The request path is not in normal form: ${issue}; send the path exactly as the API lists it`,
      issues: [`path: ${issue}`]
    })
  )

/**
 * Checks made before routing, on every request: a path not in normal form
 * is refused (400), so the one raw string below is what the Host/Origin
 * check, its exemptions and the router (case-sensitive, no slash folding:
 * `routerConfig`) all judge; a key in the query string is refused (400),
 * then the Host/Origin check (403) except on the `exempt` paths. Every
 * failure of the app behind it is answered here with the typed body and its
 * headers.
 */
export const guard = (options: {
  readonly config: Effect.Effect<AppConfig>
  readonly port: number
  readonly exempt: ReadonlySet<string>
}) =>
<E>(app: HttpApp.Default<E>): HttpApp.Default<never> =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request): HttpApp.Default<unknown> => {
    const { path, query } = splitTarget(request.url)
    const issue = pathIssue(path)
    if (issue !== undefined) return Effect.succeed(notNormal(issue))
    const inQuery = query === undefined ? Either.void : rejectSecretsInQuery(new URLSearchParams(query))
    if (Either.isLeft(inQuery)) return Effect.succeed(errorReply(inQuery.left))
    if (options.exempt.has(path)) return app
    return Effect.flatMap(options.config, (config) => {
      const checked = checkHostOrigin(config, options.port, request.headers)
      return Either.isLeft(checked) ? Effect.succeed(errorReply(checked.left)) : app
    })
  }).pipe(answeringFailures)

/** The router matches exactly the path the guard judged: no case folding, no slash folding (normal form has neither). */
export const routerConfig = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false } as const
