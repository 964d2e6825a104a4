import { HttpServerResponse } from "@effect/platform"

/**
 * A JSON response of a value the executor or a service already typed:
 * handlers return these instead of letting HttpApi encode the value through
 * its schema, which for tool descriptions and results (large JSON Schemas,
 * nmap output) would walk every node on every request.
 */
export const json = (body: unknown, status = 200): HttpServerResponse.HttpServerResponse => HttpServerResponse.unsafeJson(body, { status })
