import { ErrorCode, McpError, type ReadResourceResult, type Resource, type ResourceTemplate } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Option } from "effect"
import type { ToolInfo } from "../execution/ToolExecutor.js"
import { flagTableUri, type ListContext, usableFlags } from "./toolList.js"

/**
 * The MCP resources of a server, as providers: each serves a family of URIs
 * (its templates), lists the concrete ones there are now and reads the
 * ones that are its own. A new family (the scan store's `scan://{id}`,
 * `history://{target}`, `diff://{a}/{b}`) is one more provider; the server
 * composes them in `makeMcpServer`.
 */

/** What a provider sees of the session: the tools listed to it and the context they were listed under. */
export interface ResourceEnv {
  readonly tools: ReadonlyArray<ToolInfo>
  readonly context: ListContext
}

/** A read or list that failed for a reason the client should hear as a JSON-RPC error (a store that is down, a bad cursor). */
export type ResourceError = McpError

/** One page of a provider's resources; `nextCursor` is the provider's own. */
export interface ResourcePage {
  readonly resources: ReadonlyArray<Resource>
  readonly nextCursor?: string
}

export interface ResourceProvider {
  readonly templates: ReadonlyArray<ResourceTemplate>
  /** The page after `cursor` (the first without one). */
  readonly list: (env: ResourceEnv, cursor?: string) => Effect.Effect<ResourcePage, ResourceError>
  /** None when `uri` is not one of this provider's. */
  readonly read: (uri: string, env: ResourceEnv) => Effect.Effect<Option.Option<ReadResourceResult>, ResourceError>
}

const FLAGS = /^tools:\/\/([A-Za-z][A-Za-z0-9_]{0,63})\/flags$/

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ")

const row = (cells: ReadonlyArray<string>) => `| ${cells.map(cell).join(" | ")} |`

const marks = (flag: ToolInfo["flags"][number], env: ResourceEnv) => {
  const off = env.context.allowIntrusive && env.context.caller.scopes.has("intrusive") ? "" : " (off here)"
  return [
    flag.intrusive ? `intrusive${off}` : "",
    flag.intrusiveValues.length > 0 ? `intrusive values${off}: ${flag.intrusiveValues.join(", ")}` : "",
    flag.privileged ? "needs root" : ""
  ].filter((m) => m !== "").join("; ")
}

/** A tool's templates and full flag table in Markdown, with what is usable here. */
export const flagTable = (tool: ToolInfo, env: ResourceEnv): string => {
  const usable = usableFlags(tool, env.context).length
  const templates = tool.templates.length === 0 ? [] : [
    "## Templates",
    "",
    row(["Template", "Arguments", "What it does"]),
    row(["---", "---", "---"]),
    ...tool.templates.map((t) => row([t.name, t.args.join(" "), t.description])),
    ""
  ]
  return [
    `# ${tool.name} flags`,
    "",
    `${tool.flags.length} flags, ${usable} usable under the current configuration. Pass them as separate tokens in \`args\`, ` +
    "e.g. [\"-p\", \"80,443\"]. Flags not listed are refused. Intrusive ones need security.allow_intrusive and the " +
    "intrusive scope; without root, flags that need root are rewritten or dropped with a note in the result.",
    "",
    ...templates,
    "## Flags",
    "",
    row(["Flag", "Value", "Notes", "Description"]),
    row(["---", "---", "---", "---"]),
    ...tool.flags.map((f) => row([[f.name, ...f.aliases].join(", "), f.value, marks(f, env), f.description]))
  ].join("\n")
}

/** `tools://{name}/flags`: the full flag table of every listed tool, which its description links to. */
export const toolFlagResources: ResourceProvider = {
  templates: [{
    uriTemplate: "tools://{name}/flags",
    name: "tool-flags",
    title: "Flag table of a tool",
    description: "Every flag a tool accepts with its value type, and its templates",
    mimeType: "text/markdown"
  }],
  list: (env) =>
    Effect.succeed({
      resources: env.tools.map((tool) => ({
        uri: flagTableUri(tool.name),
        name: `${tool.name}-flags`,
        title: `${tool.title}: flags`,
        description: `The ${tool.flags.length} flags and ${tool.templates.length} templates of ${tool.name}`,
        mimeType: "text/markdown"
      }))
    }),
  read: (uri, env) =>
    Effect.sync(() => {
      const name = FLAGS.exec(uri)?.[1]
      const tool = env.tools.find((t) => t.name === name)
      return tool === undefined
        ? Option.none()
        : Option.some({ contents: [{ uri, mimeType: "text/markdown", text: flagTable(tool, env) }] })
    })
}

/** JSON-RPC error of a read of a URI no provider serves (the spec's -32002). */
export const resourceNotFound = (uri: string) =>
  new McpError(-32002, `Resource not found: ${uri}. resources/list and resources/templates/list show what there is.`, { uri })

/** `provider:cursor`: which provider the next page comes from, and that provider's own cursor. */
const CURSOR = /^(\d{1,3}):(.+)$/s

/**
 * The resources of all providers. The first page holds every provider's
 * first page (so a client that never pages still sees some of each); the
 * cursor then says whose page comes next. A read is answered by the first
 * provider that knows the URI.
 */
export const composeResources = (providers: ReadonlyArray<ResourceProvider>) => {
  /** The cursor of the first provider from `from` on that has more after its first page. */
  const nextFrom = (env: ResourceEnv, from: number): Effect.Effect<string | undefined, ResourceError> =>
    from >= providers.length ? Effect.succeed(undefined) : Effect.flatMap(
      providers[from]!.list(env),
      (page) => page.nextCursor === undefined ? nextFrom(env, from + 1) : Effect.succeed(`${from}:${page.nextCursor}`)
    )
  const first = (env: ResourceEnv) =>
    Effect.map(Effect.forEach(providers, (p) => p.list(env)), (pages): ResourcePage => {
      const more = pages.findIndex((p) => p.nextCursor !== undefined)
      return {
        resources: pages.flatMap((p) => p.resources),
        ...(more === -1 ? {} : { nextCursor: `${more}:${pages[more]!.nextCursor}` })
      }
    })
  return {
    templates: providers.flatMap((p) => p.templates),
    list: (env: ResourceEnv, cursor?: string): Effect.Effect<ResourcePage, ResourceError> => {
      if (cursor === undefined) return first(env)
      const at = CURSOR.exec(cursor)
      const index = Number(at?.[1])
      const provider = providers[index]
      if (at === null || provider === undefined) return Effect.fail(invalidParams(`Invalid cursor: ${cursor}`))
      return Effect.flatMap(provider.list(env, at[2]), (page) =>
        Effect.map(
          page.nextCursor !== undefined ? Effect.succeed(`${index}:${page.nextCursor}`) : nextFrom(env, index + 1),
          (next) => ({ resources: page.resources, ...(next === undefined ? {} : { nextCursor: next }) })
        ))
    },
    read: (uri: string, env: ResourceEnv) =>
      Effect.reduce(
        providers,
        Option.none<ReadResourceResult>(),
        (found, provider): Effect.Effect<Option.Option<ReadResourceResult>, ResourceError> =>
          Option.isSome(found) ? Effect.succeed(found) : provider.read(uri, env)
      )
  }
}

export const invalidParams = (message: string) => new McpError(ErrorCode.InvalidParams, message)

export const internalError = (message: string) => new McpError(ErrorCode.InternalError, message)
