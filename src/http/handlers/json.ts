import { HttpServerResponse } from "@effect/platform"
import { jsonText } from "../../jsonText.js"

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
  return HttpServerResponse.raw(text, {
    status,
    contentType: "application/json",
    headers: { "content-length": String(Buffer.byteLength(text, "utf8")) }
  })
}
