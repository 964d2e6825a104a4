import { HttpServerResponse } from "@effect/platform"
import { jsonPieces, jsonText, utf8Of } from "../../jsonText.js"

/**
 * A JSON response of a value the executor or a service already typed:
 * handlers return these instead of letting HttpApi encode the value through
 * its schema, which for tool descriptions and results (large JSON Schemas,
 * nmap output) would walk every node on every request. The text goes to
 * Node as it is, which writes it to the socket in one pass: a /24 scan's
 * result is megabytes, and encoding it to bytes first costs a copy. A result
 * whose JSON its parser already wrote is not encoded again (jsonText.ts).
 */
export const json = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse => {
  const text = jsonText(body)
  // Its length counts without encoding: with it the answer is one write, not chunked (a client reads it by length).
  return answer(text, Buffer.byteLength(text, "utf8"), status)
}

const answer = (body: string | Uint8Array, bytes: number, status: number) =>
  HttpServerResponse.raw(body, { status, contentType: "application/json", headers: { "content-length": String(bytes) } })

/** Past this many characters a result goes out as bytes (see `resultJson`). */
const AS_BYTES = 64 * 1024

/**
 * `json` for a tool's result, which for a /24 scan is megabytes built from
 * pieces: counting its bytes, then having Node encode it again as it writes,
 * walks it twice; encoded once here, piece by piece (see `jsonPieces`) into
 * one buffer (`utf8Of`), the bytes are written as they are. A small result stays text, written with
 * the head in one write.
 */
export const resultJson = (body: unknown): HttpServerResponse.HttpServerResponse => {
  const pieces = jsonPieces(body)
  let chars = 0
  for (const piece of pieces) chars += piece.length
  if (chars <= AS_BYTES) {
    const text = pieces.join("")
    return answer(text, Buffer.byteLength(text, "utf8"), 200)
  }
  const bytes = utf8Of(pieces)
  return answer(bytes, bytes.length, 200)
}
