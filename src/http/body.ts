import type { HttpServerRequest } from "@effect/platform"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Either } from "effect"
import type { IncomingMessage } from "node:http"
import { InvalidInput } from "../errors.js"
import { PayloadTooLarge, UnsupportedMediaType } from "./errors.js"

export const isJsonContentType = (value: string | undefined): boolean => {
  if (value === undefined) return false
  if (value === "application/json") return true
  const mediaType = value.split(";")[0]?.trim().toLowerCase()
  return mediaType === "application/json" || (mediaType !== undefined && /^application\/[a-z0-9.+-]*\+json$/.test(mediaType))
}

const tooLarge = (limit: number) =>
  new PayloadTooLarge({ limitBytes: limit, message: `Request body exceeds ${limit} bytes (server.max_body_bytes)` })

/** The body as JSON, or why it is not. */
export const parseBody = (body: Buffer): Either.Either<unknown, InvalidInput> => {
  try {
    return Either.right(JSON.parse(body.toString("utf8")) as unknown)
  } catch (error) {
    return Either.left(
      new InvalidInput({ message: "Malformed JSON body", issues: [error instanceof Error ? error.message : String(error)] })
    )
  }
}

/** How reading a body ended: its bytes, or past the limit, or the request failed (aborted, reset). */
export type BodyRead = Buffer | typeof TOO_LARGE | typeof UNREADABLE

export const TOO_LARGE = "too large"
export const UNREADABLE = "unreadable"

/**
 * The body's bytes, at most `maxBytes`, read from the Node request with plain
 * listeners (an Effect stream per request costs more than the rest of a
 * refused call). Past the limit reading stops and the request is paused, not
 * destroyed, so the 413 still reaches the client; the response then closes
 * the connection instead of draining the rest. Returns what stops reading.
 */
export const readBody = (incoming: IncomingMessage, maxBytes: number, done: (read: BodyRead) => void): () => void => {
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
    done(TOO_LARGE)
  }
  const onEnd = () => {
    stop()
    done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total))
  }
  const onFailure = () => {
    stop()
    done(UNREADABLE)
  }
  incoming.on("data", onData)
  incoming.once("end", onEnd)
  incoming.once("error", onFailure)
  incoming.once("close", onFailure)
  return stop
}

/** Bodies read before the request reached the platform (the Node lane, nodeLane.ts), for `readJsonBody` to take instead. */
const handedOver = new WeakMap<IncomingMessage, BodyRead>()

/** Leaves how reading `incoming`'s body ended for `readJsonBody`: a body is read once. */
export const handOver = (incoming: IncomingMessage, read: BodyRead): void => void handedOver.set(incoming, read)

const readResult = (read: BodyRead, maxBytes: number): Effect.Effect<Buffer, PayloadTooLarge | InvalidInput> =>
  read === TOO_LARGE
    ? Effect.fail(tooLarge(maxBytes))
    : read === UNREADABLE
    ? Effect.fail(new InvalidInput({ message: "Could not read the request body", issues: [] }))
    : Effect.succeed(read)

const readBytes = (request: HttpServerRequest.HttpServerRequest, maxBytes: number) =>
  Effect.suspend(() => {
    const incoming = NodeHttpServerRequest.toIncomingMessage(request)
    const read = handedOver.get(incoming)
    if (read !== undefined) {
      handedOver.delete(incoming)
      return readResult(read, maxBytes)
    }
    return Effect.async<Buffer, PayloadTooLarge | InvalidInput>((resume) => {
      const stop = readBody(incoming, maxBytes, (read) => resume(readResult(read, maxBytes)))
      return Effect.sync(stop)
    })
  })

/** Why a body is refused before any of it is read: not JSON, or a declared length over `maxBytes`. */
export const bodyHeadersRefusal = (
  headers: Readonly<Record<string, string | undefined>>,
  maxBytes: number
): PayloadTooLarge | UnsupportedMediaType | undefined => {
  const contentType = headers["content-type"]
  if (!isJsonContentType(contentType)) {
    return new UnsupportedMediaType({ contentType: contentType ?? "", message: "Content-Type must be application/json" })
  }
  const declared = Number(headers["content-length"])
  return Number.isFinite(declared) && declared > maxBytes ? tooLarge(maxBytes) : undefined
}

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
    const refusal = bodyHeadersRefusal(request.headers, maxBytes)
    return refusal === undefined ? Effect.flatMap(readBytes(request, maxBytes), parseBody) : Effect.fail(refusal)
  })
