import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either, Schema } from "effect"
import { errorBody, InvalidInput } from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import { compareScans, compareWithPrevious, diffUri, ScanComparison } from "../results/compare.js"
import { viewerOf } from "../storage/ScanRecord.js"
import type { ScanAccess } from "./scans.js"
import { jsonSchemaOf, withErrorShape } from "./toolResult.js"

/**
 * ScanDiff: an MCP tool of the server itself, beside the process tools. It
 * runs nothing: it compares two stored nmap or masscan scans (or a scan and
 * the previous one of the same tool, target, template and arguments) and
 * answers with the bounded summary as text and the whole diff as
 * `structuredContent`. Listed whenever the scan store is enabled.
 */

export const SCAN_DIFF = "ScanDiff"

const Input = Schema.Struct({
  scan_id: Schema.String,
  baseline_scan_id: Schema.NullOr(Schema.String)
})

const decode = Schema.decodeUnknownEither(Input, { onExcessProperty: "error" })

/** Within the strict function-calling subsets (every property required, optional ones nullable, nothing else). */
const inputSchema: Tool["inputSchema"] = {
  type: "object",
  properties: {
    scan_id: { type: "string", description: "scan_id of the newer scan (from a tool result)" },
    baseline_scan_id: {
      anyOf: [{ type: "string" }, { type: "null" }],
      description: "scan_id of the older scan; null for the previous scan of the same target and arguments"
    }
  },
  required: ["scan_id", "baseline_scan_id"],
  additionalProperties: false
}

const comparison = jsonSchemaOf(ScanComparison)

export const scanDiffTool: Tool = {
  name: SCAN_DIFF,
  title: "Compare two stored scans",
  description: "Says what changed between two stored NmapTool or MasscanTool scans: hosts new or gone, ports opened or closed, " +
    "services and script output changed (ndiff's semantics). Runs nothing; the result is also at diff://{a}/{b}.",
  inputSchema,
  outputSchema: withErrorShape({ comparison: comparison.body }, ["comparison"], [comparison]) as Tool["outputSchema"],
  annotations: { title: "Compare two stored scans", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
}

const failed = (error: { readonly _tag: string; readonly message: string }): CallToolResult => ({
  content: [{ type: "text", text: `${error._tag}: ${error.message}` }],
  structuredContent: { error: errorBody(error) },
  isError: true
})

const invalid = (args: unknown) =>
  new InvalidInput({
    message: `invalid ScanDiff input: expected {"scan_id": "<scan id>", "baseline_scan_id": "<scan id>" or null}, given ${
      JSON.stringify(args)?.slice(0, 200)
    }`,
    issues: ["scan_id: a scan id string", "baseline_scan_id: a scan id string or null"]
  })

/** One ScanDiff call as the caller: both scans must be its own unless it is an admin. */
export const callScanDiff = (access: ScanAccess, args: unknown, caller: Caller): Effect.Effect<CallToolResult> =>
  Effect.gen(function*() {
    const input = decode({ baseline_scan_id: null, ...(typeof args === "object" && args !== null ? args : {}) })
    if (Either.isLeft(input)) return failed(invalid(args))
    const { baseline_scan_id: baseline, scan_id: scanId } = input.right
    const tokens = yield* access.summaryTokens
    const viewer = viewerOf(caller)
    const compared = baseline === null
      ? compareWithPrevious(access.store, scanId, viewer, tokens)
      : compareScans(access.store, baseline, scanId, viewer, tokens)
    return yield* compared.pipe(
      Effect.map((c): CallToolResult => ({
        content: [
          { type: "text", text: c.summary },
          {
            type: "resource_link",
            uri: diffUri(c.from.scan_id, c.to.scan_id),
            name: `diff-${c.from.scan_id}-${c.to.scan_id}`,
            mimeType: "application/json"
          }
        ],
        structuredContent: { comparison: c }
      })),
      Effect.catchAll((error) => Effect.succeed(failed(error)))
    )
  })
