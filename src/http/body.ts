import type { HttpServerRequest } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect } from "effect"
import { InvalidInput } from "../errors.js"
import { PayloadTooLarge, UnsupportedMediaType } from "./errors.js"

export const isJsonContentType = (value: string | undefined): boolean => {
  if (value === undefined) return false
  const mediaType = value.split(";")[0]?.trim().toLowerCase()
  return mediaType === "application/json" || (mediaType !== undefined && /^application\/[a-z0-9.+-]*\+json$/.test(mediaType))
}

const tooLarge = (limit: number) =>
  new PayloadTooLarge({ limitBytes: limit, message: `Request body exceeds ${limit} bytes (server.max_body_bytes)` })

const parse = (body: Buffer): Effect.Effect<unknown, InvalidInput> =>
  Effect.try({
    try: () => JSON.parse(body.toString("utf8")) as unknown,
    catch: (error) => new InvalidInput({ message: "Malformed JSON body", issues: [error instanceof Error ? error.message : String(error)] })
  })

/**
 * The body's bytes, at most `maxBytes`, read from the Node request with plain
 * listeners (an Effect stream per request costs more than the rest of a
 * refused call). Past the limit reading stops and the request is paused, not
 * destroyed, so the 413 still reaches the client; the response then closes
 * the connection instead of draining the rest.
 */
const readBytes = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.async<Buffer, PayloadTooLarge | InvalidInput>((resume) => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const chunks: Array<Buffer> = []
    let total = 0
    const stop = () => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onFailure)
      incoming.off("close", onFailure)
    }
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength
      if (total <= maxBytes) return void chunks.push(chunk)
      stop()
      incoming.pause()
      resume(Effect.fail(tooLarge(maxBytes)))
    }
    const onEnd = () => {
      stop()
      resume(Effect.succeed(Buffer.concat(chunks, total)))
    }
    const onFailure = () => {
      stop()
      resume(Effect.fail(new InvalidInput({ message: "Could not read the request body", issues: [] })))
    }
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onFailure)
    incoming.once("close", onFailure)
    return Effect.sync(stop)
  })

/**
 * Reads a JSON body of at most `maxBytes`, refusing early on a larger
 * Content-Length and otherwise while reading, so an oversized body is never
 * buffered whole.
 */
export const readJsonBody = (
  request: HttpServerRequest.HttpServerRequest,
  maxBytes: number
): Effect.Effect<unknown, PayloadTooLarge | UnsupportedMediaType | InvalidInput> =>
  Effect.suspend((): Effect.Effect<unknown, PayloadTooLarge | UnsupportedMediaType | InvalidInput> => {
    const contentType = request.headers["content-type"]
    if (!isJsonContentType(contentType)) {
      return Effect.fail(new UnsupportedMediaType({ contentType: contentType ?? "", message: "Content-Type must be application/json" }))
    }
    const declared = Number(request.headers["content-length"])
    if (Number.isFinite(declared) && declared > maxBytes) return Effect.fail(tooLarge(maxBytes))
    return Effect.flatMap(readBytes(request, maxBytes), parse)
  })
