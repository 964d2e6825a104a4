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

export interface ResourceProvider {
  readonly templates: ReadonlyArray<ResourceTemplate>
  readonly list: (env: ResourceEnv) => Effect.Effect<ReadonlyArray<Resource>>
  /** None when `uri` is not one of this provider's. */
  readonly read: (uri: string, env: ResourceEnv) => Effect.Effect<Option.Option<ReadResourceResult>>
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
    Effect.succeed(env.tools.map((tool) => ({
      uri: flagTableUri(tool.name),
      name: `${tool.name}-flags`,
      title: `${tool.title}: flags`,
      description: `The ${tool.flags.length} flags and ${tool.templates.length} templates of ${tool.name}`,
      mimeType: "text/markdown"
    }))),
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

/** The resources of all providers: lists concatenated, a read answered by the first provider that knows the URI. */
export const composeResources = (providers: ReadonlyArray<ResourceProvider>) => ({
  templates: providers.flatMap((p) => p.templates),
  list: (env: ResourceEnv) => Effect.map(Effect.forEach(providers, (p) => p.list(env)), (lists) => lists.flat()),
  read: (uri: string, env: ResourceEnv) =>
    Effect.reduce(
      providers,
      Option.none<ReadResourceResult>(),
      (found, provider) => Option.isSome(found) ? Effect.succeed(found) : provider.read(uri, env)
    )
})

export const invalidParams = (message: string) => new McpError(ErrorCode.InvalidParams, message)
