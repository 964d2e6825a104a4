import { HttpServerResponse } from "@effect/platform"

/**
 * A JSON response of a value the executor or a service already typed:
 * handlers return these instead of letting HttpApi encode the value through
 * its schema, which for tool descriptions and results (large JSON Schemas,
 * nmap output) would walk every node on every request. The text goes to
 * Node as it is, which writes it to the socket in one pass: a /24 scan's
 * result is megabytes, and encoding it to bytes first costs a copy.
 */
export const json = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.raw(JSON.stringify(body), { status, contentType: "application/json" })
