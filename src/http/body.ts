import type { HttpServerRequest } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as NodeStream from "@effect/platform-node/NodeStream"
import { Chunk, Effect, Stream } from "effect"
import { InvalidInput } from "../errors.js"
import { PayloadTooLarge, UnsupportedMediaType } from "./errors.js"

export const isJsonContentType = (value: string | undefined): boolean => {
  if (value === undefined) return false
  const mediaType = value.split(";")[0]?.trim().toLowerCase()
  return mediaType === "application/json" || (mediaType !== undefined && /^application\/[a-z0-9.+-]*\+json$/.test(mediaType))
}

const tooLarge = (limit: number) =>
  new PayloadTooLarge({ limitBytes: limit, message: `Request body exceeds ${limit} bytes (server.max_body_bytes)` })

/**
 * Reads a JSON body of at most `maxBytes`, refusing early on a larger
 * Content-Length and otherwise while streaming, so an oversized body is never
 * buffered whole. The socket is left open (not destroyed) when reading stops
 * early, so the 413 still reaches the client; the response then closes the
 * connection instead of draining the rest.
 */
export const readJsonBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<unknown, PayloadTooLarge | UnsupportedMediaType | InvalidInput> =>
  Effect.gen(function*() {
    const contentType = request.headers["content-type"]
    if (!isJsonContentType(contentType)) {
      return yield* new UnsupportedMediaType({
        contentType: contentType ?? "",
        message: "Content-Type must be application/json"
      })
    }
    const declared = Number(request.headers["content-length"])
    if (Number.isFinite(declared) && declared > maxBytes) return yield* tooLarge(maxBytes)
    const chunks = yield* NodeStream.fromReadable<InvalidInput, Uint8Array>(
      () => NodeHttpServerRequest.toIncomingMessage(request),
      () => new InvalidInput({ message: "Could not read the request body", issues: [] }),
      { closeOnDone: false }
    ).pipe(
      Stream.mapAccumEffect(0, (total, chunk: Uint8Array) => {
        const next = total + chunk.byteLength
        return next > maxBytes ? Effect.fail(tooLarge(maxBytes)) : Effect.succeed([next, chunk] as const)
      }),
      Stream.runCollect
    )
    const text = Buffer.concat(Chunk.toReadonlyArray(chunks)).toString("utf8")
    return yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (error) =>
        new InvalidInput({ message: "Malformed JSON body", issues: [error instanceof Error ? error.message : String(error)] })
    })
  })
