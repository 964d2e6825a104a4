import type { CompleteRequest, CompleteResult } from "@modelcontextprotocol/sdk/types.js"
import { Effect } from "effect"
import type { ToolInfo } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { promptTemplates } from "./prompts.js"

/**
 * `completion/complete`: suggestions for prompt arguments and resource
 * template variables. Each source answers the requests it knows (undefined
 * for the others); the first that answers wins. The scan store adds a source
 * for `scan://{id}` (recent scan ids) and targets from its history the same
 * way.
 */

export type CompletionRef = CompleteRequest["params"]["ref"]

export interface CompletionQuery {
  readonly ref: CompletionRef
  readonly argument: string
  readonly value: string
  /** Arguments already filled in, when the client sends them. */
  readonly context: Readonly<Record<string, string>>
}

/** What sources may draw on: the tools listed to the session, the allowed targets, the targets this session used, who asks. */
export interface CompletionEnv {
  readonly tools: ReadonlyArray<ToolInfo>
  readonly allowedTargets: ReadonlyArray<string>
  readonly allowIpv6: boolean
  readonly recentTargets: ReadonlyArray<string>
  /** Stored scans are suggested only as far as this caller may read them. */
  readonly caller?: Caller
}

export type CompletionSource = (query: CompletionQuery, env: CompletionEnv) => Effect.Effect<ReadonlyArray<string> | undefined>

/** The spec caps a completion at 100 values. */
const MAX_VALUES = 100

/** Starting points inside each allowed-target alias; CIDRs stand for themselves, name suffixes give none. */
const aliasExamples: Readonly<Record<string, ReadonlyArray<string>>> = {
  rfc1918: ["10.0.0.0/24", "172.16.0.0/24", "192.168.0.0/24"],
  loopback: ["127.0.0.1", "127.0.0.0/24"],
  ula: ["fd00::/64"]
}

/** Targets worth suggesting: this session's recent ones first, then starting points inside the allowed ranges. */
export const targetSuggestions = (env: CompletionEnv): ReadonlyArray<string> => [
  ...env.recentTargets,
  ...env.allowedTargets.flatMap((entry) => {
    const alias = aliasExamples[entry.toLowerCase()]
    if (alias !== undefined) return entry.toLowerCase() === "ula" && !env.allowIpv6 ? [] : alias
    return entry.startsWith(".") ? [] : [entry]
  })
]

const TARGET_ARGUMENTS: Readonly<Record<string, ReadonlyArray<string>>> = {
  "discover-network": ["network"],
  "audit-web-service": ["target"],
  "compare-with-last-scan": ["target"]
}

/** Prompt arguments: targets, and the NmapTool template of compare-with-last-scan. */
export const promptArguments: CompletionSource = (query, env) =>
  Effect.sync(() => {
    if (query.ref.type !== "ref/prompt") return undefined
    if (TARGET_ARGUMENTS[query.ref.name]?.includes(query.argument)) return targetSuggestions(env)
    if (query.ref.name === "compare-with-last-scan" && query.argument === "template") return promptTemplates
    return undefined
  })

/** `tools://{name}/flags`: the listed tools' names. */
export const toolNames: CompletionSource = (query, env) =>
  Effect.sync(() =>
    query.ref.type === "ref/resource" && query.ref.uri === "tools://{name}/flags" && query.argument === "name"
      ? env.tools.map((t) => t.name)
      : undefined
  )

export const defaultSources: ReadonlyArray<CompletionSource> = [promptArguments, toolNames]

/** The values that start with what was typed (case-insensitive), without duplicates, at most 100. */
export const completionResult = (values: ReadonlyArray<string>, typed: string): CompleteResult => {
  const prefix = typed.toLowerCase()
  const matching = [...new Set(values)].filter((v) => v.toLowerCase().startsWith(prefix))
  return {
    completion: {
      values: matching.slice(0, MAX_VALUES),
      total: matching.length,
      hasMore: matching.length > MAX_VALUES
    }
  }
}

/** Asks each source in turn; undefined when none knows the request (an unknown prompt or template). */
export const complete = (
  sources: ReadonlyArray<CompletionSource>,
  query: CompletionQuery,
  env: CompletionEnv
): Effect.Effect<CompleteResult | undefined> =>
  Effect.reduce(
    sources,
    undefined as ReadonlyArray<string> | undefined,
    (found, source) => found !== undefined ? Effect.succeed(found) : source(query, env)
  ).pipe(
    Effect.map((values) => values === undefined ? undefined : completionResult(values, query.value))
  )
