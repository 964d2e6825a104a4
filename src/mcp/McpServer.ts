import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  CancelTaskRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  SetLevelRequestSchema
} from "@modelcontextprotocol/sdk/types.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js"
import { Effect, FiberMap, Option, Queue, Runtime, type Scope } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { Events } from "../events/Events.js"
import { ToolExecutor, type ToolInfo } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { Startup } from "../startup.js"
import { complete, type CompletionEnv, type CompletionSource, defaultSources } from "./completions.js"
import { engagementChoices, engagementResources } from "./engagementResources.js"
import { makeSessionLog, type SessionLog } from "./logging.js"
import { offeredPrompts, type PromptEnv, renderPrompt } from "./prompts.js"
import {
  composeResources,
  invalidParams,
  type ResourceEnv,
  resourceNotFound,
  type ResourceProvider,
  toolFlagResources
} from "./resources.js"
import { BoundedTaskStore, defaultTaskLimits, type TaskLimits } from "./TaskStore.js"
import { type CallContext, callTool, cancelTask, type HandlerExtra } from "./toolCalls.js"
import { isListed, type ListContext, toMcpTool } from "./toolList.js"

export type { HandlerExtra } from "./toolCalls.js"

export interface ServerInfo {
  readonly name: string
  readonly version: string
}

export interface McpServerOptions {
  readonly info: ServerInfo
  /** Who is calling: fixed for stdio, taken from the request's auth info over HTTP. */
  readonly callerOf: (extra: HandlerExtra) => Caller
  /** Who the session belongs to, for what the server pushes without a request (list changes). */
  readonly sessionCaller: Caller
  /** Bounds of this server's task store (task-augmented `tools/call`); `false` for a server without tasks (stateless HTTP). */
  readonly tasks?: Partial<TaskLimits> | false
  /** Resource families besides the built-in ones (the scan store adds `scan://` and friends). */
  readonly resources?: ReadonlyArray<ResourceProvider>
  /** Completion sources tried before the built-in ones. */
  readonly completions?: ReadonlyArray<CompletionSource>
}

/** One MCP server and what its HTTP session needs to know about it. */
export interface McpSession {
  readonly server: Server
  /** Tasks still running: a session with one is not idle. */
  readonly runningTasks: () => number
}

const INSTRUCTIONS =
  "Runs network security tools (nmap first) against allowed lab targets. Each call is validated against the server's target and argument policy; " +
  "a rejected call returns isError with text saying what to change. Each tool's description links its full flag table (tools://NAME/flags). " +
  "Prompts give ready plans (discover-network, audit-web-service, compare-with-last-scan). " +
  "Long scans can run as tasks (tools/call with a task): poll tasks/get, then fetch the result with tasks/result."

/** What the handlers of one MCP server share. */
interface Session extends CallContext {
  readonly config: ConfigService["Type"]
  readonly resources: ReturnType<typeof composeResources>
  readonly completions: ReadonlyArray<CompletionSource>
  readonly recentTargets: Array<string>
}

const RECENT_TARGETS = 20

/** The tools listed to `caller` now, with the context they are listed under. */
const listed = (s: Session, caller: Caller) =>
  Effect.gen(function*() {
    const config = yield* s.config.get
    const context: ListContext = { allowIntrusive: config.security.allow_intrusive, caller, ...engagementChoices(config, caller) }
    const tools = (yield* s.executor.list).filter((tool) => isListed(tool, context))
    return { tools, context, config }
  })

const promptEnv = (s: Session, tools: ReadonlyArray<ToolInfo>): PromptEnv => ({ tools, resourceTemplates: s.resources.templates })

const registerTools = (s: Session, tasks: boolean) => {
  s.server.setRequestHandler(
    ListToolsRequestSchema,
    (_request, extra) =>
      s.run(Effect.map(listed(s, s.callerOf(extra)), ({ context, tools }) => ({
        tools: tools.map((tool) => toMcpTool(tool, context, tasks))
      })))
  )
  s.server.setRequestHandler(CallToolRequestSchema, callTool(s))
  if (s.tasks !== undefined) s.server.setRequestHandler(CancelTaskRequestSchema, cancelTask(s, s.tasks))
}

const registerResources = (s: Session) => {
  const env = (extra: HandlerExtra) => Effect.map(listed(s, s.callerOf(extra)), ({ context, tools }): ResourceEnv => ({ tools, context }))
  s.server.setRequestHandler(
    ListResourcesRequestSchema,
    (_request, extra) => s.run(Effect.map(Effect.flatMap(env(extra), s.resources.list), (resources) => ({ resources: [...resources] })))
  )
  s.server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [...s.resources.templates] }))
  s.server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const found = await s.run(Effect.flatMap(env(extra), (e) => s.resources.read(request.params.uri, e)))
    if (Option.isNone(found)) throw resourceNotFound(request.params.uri)
    return found.value
  })
}

const registerPrompts = (s: Session) => {
  s.server.setRequestHandler(ListPromptsRequestSchema, (_request, extra) =>
    s.run(Effect.map(listed(s, s.callerOf(extra)), ({ tools }) => ({
      prompts: offeredPrompts(promptEnv(s, tools)).map((p) => p.prompt)
    }))))
  s.server.setRequestHandler(GetPromptRequestSchema, async (request, extra) => {
    const { tools } = await s.run(listed(s, s.callerOf(extra)))
    const env = promptEnv(s, tools)
    const spec = offeredPrompts(env).find((p) => p.prompt.name === request.params.name)
    if (spec === undefined) {
      const names = offeredPrompts(env).map((p) => p.prompt.name).join(", ")
      throw invalidParams(`Unknown prompt ${request.params.name}; the prompts are ${names || "none right now"}`)
    }
    const args = request.params.arguments ?? {}
    const missing = (spec.prompt.arguments ?? []).filter((a) => a.required === true && (args[a.name] ?? "") === "")
    if (missing.length > 0) throw invalidParams(`Prompt ${spec.prompt.name} needs ${missing.map((a) => a.name).join(", ")}`)
    return renderPrompt(spec, args, env)
  })
}

const registerCompletions = (s: Session) =>
  s.server.setRequestHandler(CompleteRequestSchema, async (request, extra) => {
    const result = await s.run(Effect.gen(function*() {
      const { config, tools } = yield* listed(s, s.callerOf(extra))
      const env: CompletionEnv = {
        tools,
        allowedTargets: config.security.allowed_targets,
        allowIpv6: config.security.allow_ipv6,
        recentTargets: [...s.recentTargets].reverse()
      }
      const { argument, context, ref } = request.params
      return yield* complete(s.completions, { ref, argument: argument.name, value: argument.value, context: context?.arguments ?? {} }, env)
    }))
    if (result === undefined) {
      const what = request.params.ref.type === "ref/prompt" ? `prompt ${request.params.ref.name}` : `resource ${request.params.ref.uri}`
      throw invalidParams(`No completions for ${what} argument ${request.params.argument.name}: no such prompt, template or argument`)
    }
    return result
  })

const registerLogging = (log: SessionLog, server: Server) =>
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    log.setLevel(request.params.level)
    return {}
  })

/**
 * Tells the client when what it was listed changed — an operator switched a
 * tool, or a config reload changed which tools, flags and prompts this
 * session may use — for the server's lifetime.
 */
const followListChanges = (s: Session, caller: Caller) =>
  Effect.gen(function*() {
    const fingerprint = Effect.map(listed(s, caller), ({ context, tools }) => JSON.stringify(tools.map((t) => toMcpTool(t, context, true))))
    const subscription = yield* Effect.flatMap(
      Events,
      (events) =>
        events.subscribeTo((event) => event.type === "tool.enabled" || event.type === "tool.disabled" || event.type === "config.reloaded")
    )
    // What the session starts with, taken once subscribed (no change can slip between), after the requests already
    // waiting (see Startup): a new session's first answer does not wait for it.
    let last = ""
    const notifyAll = Effect.tryPromise(async () => {
      await s.server.sendToolListChanged()
      await s.server.sendResourceListChanged()
      await s.server.sendPromptListChanged()
    }).pipe(Effect.ignore)
    // A burst of switches is one look at what changed.
    const follow = Queue.takeBetween(subscription, 1, Number.MAX_SAFE_INTEGER).pipe(
      Effect.zipRight(fingerprint),
      Effect.flatMap((now) => {
        if (now === last) return Effect.void
        last = now
        return notifyAll
      }),
      Effect.forever
    )
    const startup = yield* Startup
    yield* startup.background(fingerprint).pipe(
      Effect.tap((first) => {
        last = first
      }),
      Effect.zipRight(follow),
      Effect.forkScoped
    )
  })

const capabilities = (tasks: boolean) => ({
  tools: { listChanged: true },
  resources: { listChanged: true },
  prompts: { listChanged: true },
  completions: {},
  logging: {},
  ...(tasks ? { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } } : {})
})

/**
 * The SDK's Ajv validator, made on first use: the SDK would build one for
 * every server (a few milliseconds of a stdio start-up and of every HTTP
 * session) to check elicitation answers, which this server never asks for.
 */
const lazyValidator = (): jsonSchemaValidator => {
  let ajv: AjvJsonSchemaValidator | undefined
  return { getValidator: (schema) => (ajv ??= new AjvJsonSchemaValidator()).getValidator(schema) }
}

/**
 * One MCP server (one per stdio connection or HTTP session). Handlers run as
 * fibers on the runtime captured here; an aborted request (client
 * `notifications/cancelled`, session close) interrupts its fiber, which kills
 * the tool's process group. Tasks live and die with the server: another
 * session never sees them, and closing the session stops them. The server
 * closes with the scope.
 */
export const makeMcpServer = (
  options: McpServerOptions
): Effect.Effect<McpSession, never, ToolExecutor | Events | ConfigService | Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const clock = yield* Effect.clock
    const tasks = options.tasks !== false
    const taskStore = tasks
      ? new BoundedTaskStore({ ...defaultTaskLimits, ...(options.tasks || {}) }, () => clock.unsafeCurrentTimeMillis())
      : undefined
    const server = new Server(
      { name: options.info.name, version: options.info.version },
      {
        capabilities: capabilities(tasks),
        instructions: INSTRUCTIONS,
        jsonSchemaValidator: lazyValidator(),
        ...(taskStore === undefined ? {} : { taskStore })
      }
    )
    const recentTargets: Array<string> = []
    const s: Session = {
      server,
      executor: yield* ToolExecutor,
      config: yield* ConfigService,
      tasks: taskStore === undefined ? undefined : { store: taskStore, fibers: yield* FiberMap.make<string>() },
      callerOf: options.callerOf,
      log: makeSessionLog(),
      recentTargets,
      noteTarget: (target) => {
        const known = recentTargets.indexOf(target)
        if (known >= 0) recentTargets.splice(known, 1)
        recentTargets.push(target.slice(0, 253))
        if (recentTargets.length > RECENT_TARGETS) recentTargets.shift()
      },
      resources: composeResources([...(options.resources ?? []), toolFlagResources, engagementResources(yield* ConfigService)]),
      completions: [...(options.completions ?? []), ...defaultSources],
      run: (effect, signal) => Runtime.runPromise(runtime)(effect, { signal })
    }
    registerTools(s, tasks)
    registerResources(s)
    registerPrompts(s)
    registerCompletions(s)
    registerLogging(s.log, server)
    if (tasks) yield* followListChanges(s, options.sessionCaller)
    yield* Effect.addFinalizer(() => Effect.promise(() => server.close()))
    return { server, runningTasks: () => taskStore?.running ?? 0 }
  })
