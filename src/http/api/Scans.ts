import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ExecutionResult } from "../../execution/ToolExecutor.js"
import { ScanComparison } from "../../results/compare.js"
import { MAX_PAGE, ParseStatus, ScanId, ScanOutcome, ScanPage, ScanRaw } from "../../storage/ScanRecord.js"
import { apiErrors } from "./errors.js"
import { Authenticated } from "./security.js"

/**
 * Stored scans, read back with the key that ran them (a key sees only its
 * own scans unless it has the admin scope): the list, one scan as its
 * execute response, its raw output, the diff of two, a target's history.
 */

const DateTime = Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } })

/** `GET /scans/{id}`: the execute response as it was returned, plus where it stands in the store. */
export const StoredExecution = Schema.Struct({
  ...ExecutionResult.fields,
  scan_id: ScanId,
  stored_at: DateTime.annotations({ description: "When the record was last written" }),
  outcome: ScanOutcome.annotations({ description: "running until the execution ends" }),
  parse_status: ParseStatus,
  started_at: DateTime,
  finished_at: Schema.NullOr(DateTime)
}).annotations({ identifier: "StoredExecution", description: "The execute response of a stored scan, plus its scan_id and stored_at" })

const limit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, MAX_PAGE)).annotations({
  description: `Scans per page, 1 to ${MAX_PAGE} (default 50)`
})

const page = {
  cursor: Schema.optional(Schema.String.annotations({ description: "next_cursor of the previous page" })),
  limit: Schema.optional(limit)
}

const ListParams = Schema.Struct({
  tool: Schema.optional(Schema.String.annotations({ description: "Tool name, e.g. NmapTool" })),
  target: Schema.optional(Schema.String.annotations({ description: "The target as sent, or the pinned address" })),
  caller: Schema.optional(Schema.String.annotations({ description: "API key id (admins see every key's scans)" })),
  q: Schema.optional(
    Schema.String.annotations({
      description: "Words that must each appear, in any case, in the summary, target, pinned address, tool or command line"
    })
  ),
  outcome: Schema.optional(ScanOutcome),
  since: Schema.optional(DateTime.annotations({ description: "Started at or after (ISO 8601)" })),
  until: Schema.optional(DateTime.annotations({ description: "Started before (ISO 8601)" })),
  ...page
})

const Page = ScanPage.annotations({
  identifier: "ScanPage",
  description: "Stored scans, newest first; next_cursor is null on the last page"
})

const ScanPath = Schema.Struct({ id: Schema.String.annotations({ description: "scan_id of an execute response" }) })

export const Scans = HttpApiGroup.make("scans")
  .add(
    HttpApiEndpoint.get("list", "/scans")
      .setUrlParams(ListParams)
      .addSuccess(Page)
      .addError(apiErrors("InvalidInput", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "List stored scans, newest first, with filters and cursor pagination")
  )
  .add(
    HttpApiEndpoint.get("get", "/scans/:id")
      .setPath(ScanPath)
      .addSuccess(StoredExecution)
      .addError(apiErrors("ScanNotFound", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "One stored scan: its execute response body with scan_id and stored_at")
  )
  .add(
    HttpApiEndpoint.get("raw", "/scans/:id/raw")
      .setPath(ScanPath)
      .addSuccess(ScanRaw.annotations({ identifier: "ScanRaw", description: "The raw stdout and stderr as the tool wrote them" }))
      .addError(apiErrors("ScanNotFound", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "The raw output of a stored scan")
  )
  .add(
    HttpApiEndpoint.get("diff", "/scans/:id/diff/:other")
      .setPath(Schema.Struct({
        id: Schema.String.annotations({ description: "The earlier scan" }),
        other: Schema.String.annotations({ description: "The later scan" })
      }))
      .addSuccess(ScanComparison)
      .addError(apiErrors("InvalidInput", "ScanNotFound", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "What changed from one nmap or masscan scan to another: hosts, ports, services, scripts")
  )
  .add(
    // A query parameter, not a path segment: a CIDR's slash may not be percent-encoded in a path (one normal form).
    HttpApiEndpoint.get("history", "/history")
      .setUrlParams(Schema.Struct({
        target: Schema.String.annotations({ description: "The target as sent (a host, an address or a CIDR) or the pinned address" }),
        ...page
      }))
      .addSuccess(Page)
      .addError(apiErrors("InvalidInput", "StoreUnavailable"))
      .annotate(OpenApi.Summary, "The scans of one target, newest first")
  )
  .middleware(Authenticated)
  .addError(apiErrors("Forbidden"))
  .annotate(OpenApi.Description, "Stored scans (a key sees its own, admin sees all): list, read, raw output, diffs, history")
