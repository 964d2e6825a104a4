import type { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  CancelTaskRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  type McpError,
  ReadResourceRequestSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either, FiberMap, Option, Queue, Runtime, type Scope } from "effect"
import { ConfigService } from "../config/ConfigService.js"
import { Events } from "../events/Events.js"
import { ToolExecutor, type ToolInfo } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { Startup } from "../startup.js"
import { Schedules } from "../watch/Schedules.js"
import { complete, type CompletionEnv, type CompletionSource, defaultSources } from "./completions.js"
import { engagementChoices, engagementResources } from "./engagementResources.js"
import { makeSessionLog, type SessionLog } from "./logging.js"
import { bundledScanViewer, hasBundledScanViewer, scanViewerResources, supportsApps, withViewer } from "./mcpApp.js"
import { makeServerShell, type McpServerShell, type ServerInfo } from "./McpServerShell.js"
import { offeredPrompts, type PromptEnv, renderPrompt } from "./prompts.js"
import { reportResources, scanReportTool } from "./reports.js"
import {
  composeResources,
  invalidParams,
  type ResourceEnv,
  resourceNotFound,
  type ResourceProvider,
  toolFlagResources
} from "./resources.js"
import { scanCompletions } from "./scanCompletions.js"
import { scanDiffTool } from "./scanDiff.js"
import { durableTasks, scanAccess, scanResources } from "./scans.js"
import { schedulesTool } from "./schedules.js"
import { followScanUpdates, makeSubscriptions, MAX_SUBSCRIPTIONS, MAX_URI_LENGTH, type Subscriptions } from "./subscriptions.js"
import type { TaskLimits } from "./TaskStore.js"
import { type CallContext, callTool, cancelTask, type HandlerExtra } from "./toolCalls.js"
import { isListed, type ListContext, toMcpTool } from "./toolList.js"

export type { ServerInfo } from "./McpServerShell.js"
export type { HandlerExtra } from "./toolCalls.js"

export interface McpServerOptions {
  readonly info: ServerInfo
  /** Who is calling: fixed for stdio, taken from the request's auth info over HTTP. */
  readonly callerOf: (extra: HandlerExtra) => Caller
  /**
   * Who the session belongs to as configured now, for what the server does
   * without a caller's request of its own: list changes, scan updates, and
   * tasks read back from the store. Over HTTP, the caller of the session's
   * latest request, so a key whose scopes were cut keeps none of them here.
   */
  readonly sessionCaller: () => Caller
  /** Bounds of this server's task store (task-augmented `tools/call`); `false` for a server without tasks (stateless HTTP). */
  readonly tasks?: Partial<TaskLimits> | false
  /** Resource families besides the built-in ones (the scan store adds `scan://` and friends). */
  readonly resources?: ReadonlyArray<ResourceProvider>
  /** Completion sources tried before the built-in ones. */
  readonly completions?: ReadonlyArray<CompletionSource>
  /** The server as made earlier with `makeServerShell` (stdio answers `initialize` before its services exist); a new one by default. */
  readonly shell?: McpServerShell
}

/** One MCP server and what its HTTP session needs to know about it. */
export interface McpSession {
  readonly server: Server
  /** Tasks still running: a session with one is not idle. */
  readonly runningTasks: () => number
}

/** What the handlers of one MCP server share. */
interface Session extends CallContext {
  readonly config: ConfigService["Type"]
  readonly resources: ReturnType<typeof composeResources>
  readonly completions: ReadonlyArray<CompletionSource>
  readonly recentTargets: Array<string>
  readonly subscriptions: Subscriptions
  /** Whether this session's client negotiated MCP Apps (and the server has the viewer). */
  readonly apps: () => boolean
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

const promptEnv = (s: Session, tools: ReadonlyArray<ToolInfo>): PromptEnv => ({
  tools,
  resourceTemplates: s.resources.templates,
  serverTools: s.scans === undefined ? [] : [scanDiffTool.name, scanReportTool.name]
})

/** The server's own tools for `caller`: ScanDiff while the store is enabled, Schedules too for the schedule scope. */
const serverTools = (s: Session, caller: Caller) => [
  ...(s.scans === undefined ? [] : [scanDiffTool, scanReportTool]),
  ...(s.schedules === undefined || !caller.scopes.has("schedule") ? [] : [schedulesTool])
]

/** The process tools listed to the caller, then the server's own. */
const registerTools = (s: Session, tasks: boolean) => {
  s.server.setRequestHandler(
    ListToolsRequestSchema,
    (_request, extra) =>
      s.run(Effect.map(listed(s, s.callerOf(extra)), ({ context, tools }) => {
        const all = [...tools.map((tool) => toMcpTool(tool, context, tasks)), ...serverTools(s, s.callerOf(extra))]
        return { tools: s.apps() ? all.map(withViewer) : all }
      }))
  )
  s.server.setRequestHandler(CallToolRequestSchema, callTool(s))
  if (s.tasks !== undefined) s.server.setRequestHandler(CancelTaskRequestSchema, cancelTask(s, s.tasks))
}

/** Runs a resource effect; its JSON-RPC error is thrown for the SDK to answer with. */
const answer = async <A>(s: Session, effect: Effect.Effect<A, McpError>): Promise<A> => {
  const outcome = await s.run(Effect.either(effect))
  if (Either.isLeft(outcome)) throw outcome.left
  return outcome.right
}

const registerResources = (s: Session, subscribe: boolean) => {
  const env = (extra: HandlerExtra) => Effect.map(listed(s, s.callerOf(extra)), ({ context, tools }): ResourceEnv => ({ tools, context }))
  s.server.setRequestHandler(ListResourcesRequestSchema, (request, extra) =>
    answer(
      s,
      Effect.flatMap(env(extra), (e) => s.resources.list(e, request.params?.cursor)).pipe(
        Effect.map((page) => ({
          resources: [...page.resources],
          ...(page.nextCursor === undefined ? {} : { nextCursor: page.nextCursor })
        }))
      )
    ))
  s.server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [...s.resources.templates] }))
  s.server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    const found = await answer(s, Effect.flatMap(env(extra), (e) => s.resources.read(request.params.uri, e)))
    if (Option.isNone(found)) throw resourceNotFound(request.params.uri)
    return found.value
  })
  if (!subscribe) return
  s.server.setRequestHandler(SubscribeRequestSchema, (request) => {
    if (!s.subscriptions.add(request.params.uri)) {
      throw invalidParams(`Cannot watch more than ${MAX_SUBSCRIPTIONS} resources, or a URI over ${MAX_URI_LENGTH} characters`)
    }
    return {}
  })
  s.server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
    s.subscriptions.remove(request.params.uri)
    return {}
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
        recentTargets: [...s.recentTargets].reverse(),
        caller: s.callerOf(extra)
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
const followListChanges = (s: Session, caller: () => Caller) =>
  Effect.gen(function*() {
    const fingerprint = Effect.map(Effect.suspend(() => listed(s, caller())), ({ context, tools }) =>
      JSON.stringify(tools.map((t) => toMcpTool(t, context, true))))
    const subscription = yield* Effect.flatMap(
      Events,
      (events) =>
        events.subscribeTo((event) =>
          event.type === "tool.enabled" || event.type === "tool.disabled" || event.type === "config.reloaded"
        )
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

/**
 * One MCP server (one per stdio connection or HTTP session). Handlers run as
 * fibers on the runtime captured here; an aborted request (client
 * `notifications/cancelled`, session close) interrupts its fiber, which kills
 * the tool's process group. Tasks run with the server: another session never
 * sees them, and closing the session stops them; a task's result is read back
 * from the scan store once its session is gone (its id is its scan's id).
 * The scan store's features are there when its services are (`scanAccess`).
 * The server closes with the scope.
 */
export const makeMcpServer = (
  options: McpServerOptions
): Effect.Effect<McpSession, never, ToolExecutor | Events | ConfigService | Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const run: Session["run"] = (effect, signal) => Runtime.runPromise(runtime)(effect, { signal })
    const access = Option.getOrUndefined(yield* scanAccess)
    const tasks = options.tasks !== false
    const { bindDurable, server, taskLimits, taskStore } = options.shell ?? (yield* makeServerShell(options.info, options.tasks))
    if (access !== undefined && taskLimits !== undefined) {
      bindDurable(durableTasks(access, options.sessionCaller, run, taskLimits.pollIntervalMs))
    }
    const recentTargets: Array<string> = []
    const apps = () => hasBundledScanViewer && supportsApps(server.getClientCapabilities())
    const s: Session = {
      server,
      executor: yield* ToolExecutor,
      config: yield* ConfigService,
      tasks: taskStore === undefined ? undefined : { store: taskStore, fibers: yield* FiberMap.make<string>() },
      scans: access,
      // Schedules live in the store: offered with it.
      schedules: access === undefined ? undefined : Option.getOrUndefined(yield* Effect.serviceOption(Schedules)),
      callerOf: options.callerOf,
      log: makeSessionLog(),
      recentTargets,
      noteTarget: (target) => {
        const known = recentTargets.indexOf(target)
        if (known >= 0) recentTargets.splice(known, 1)
        recentTargets.push(target.slice(0, 253))
        if (recentTargets.length > RECENT_TARGETS) recentTargets.shift()
      },
      resources: composeResources([
        ...(options.resources ?? []),
        toolFlagResources,
        engagementResources(yield* ConfigService),
        ...(access === undefined ? [] : [scanResources(access), reportResources(access)]),
        ...(hasBundledScanViewer ? [scanViewerResources(bundledScanViewer, apps)] : [])
      ]),
      completions: [...(options.completions ?? []), ...(access === undefined ? [] : [scanCompletions(access)]), ...defaultSources],
      subscriptions: makeSubscriptions(),
      apps,
      run
    }
    registerTools(s, tasks)
    registerResources(s, tasks)
    registerPrompts(s)
    registerCompletions(s)
    registerLogging(s.log, server)
    if (tasks) yield* followListChanges(s, options.sessionCaller)
    if (tasks && access !== undefined) yield* followScanUpdates(server, access, s.subscriptions, options.sessionCaller)
    yield* Effect.addFinalizer(() => Effect.promise(() => server.close()))
    return { server, runningTasks: () => taskStore?.running ?? 0 }
  })
