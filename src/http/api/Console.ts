import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { apiErrors } from "./errors.js"

/**
 * The operator console: a page and its two bundled files. Public (they hold
 * no data: every call the page makes carries the key the operator types in),
 * but under the Host/Origin check, and with a strict Content-Security-Policy.
 * An `If-None-Match` with the current ETag gets 304.
 */

const file = <const Name extends string>(name: Name, path: `/${string}`, contentType: string, summary: string) =>
  HttpApiEndpoint.get(name, path)
    .addSuccess(HttpApiSchema.Text({ contentType }).annotations({ description: summary }))
    .addSuccess(HttpApiSchema.Empty(304).annotations({ description: "Not modified (If-None-Match matched the ETag)" }))
    .addError(apiErrors("NotFound"))
    .annotate(OpenApi.Summary, summary)

export const Console = HttpApiGroup.make("console")
  .add(file("page", "/ui", "text/html; charset=utf-8", "The operator console (the page; no key needed to load it)"))
  .add(file("script", "/ui/console.js", "text/javascript; charset=utf-8", "The console's script"))
  .add(file("style", "/ui/console.css", "text/css; charset=utf-8", "The console's styles"))
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Operator console (a browser page; every data call it makes uses the REST API with the key)")
