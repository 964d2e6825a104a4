import { Duration, Effect, Either } from "effect"
import type { AppConfig } from "../config/schema.js"
import {
  ArgumentRejected,
  type EngagementRejected,
  type ExecutionError,
  Forbidden,
  type IntrusiveNotAllowed,
  InvalidInput,
  TargetRejected,
  ToolDisabled,
  ToolNotFound,
  ToolUnavailable
} from "../errors.js"
import type { Caller } from "../identity/Caller.js"
import type { AuditApproval } from "../observability/AuditLog.js"
import { validateArgs, type ValidatedArgs } from "../policy/args.js"
import type { Engagement, EngagementRef } from "../policy/Engagement.js"
import { pinInEngagement } from "../policy/engagementScope.js"
import { checkedTarget, type PinnedTarget } from "../policy/pin.js"
import type { Resolver } from "../policy/Resolver.js"
import type { TargetPolicyOptions } from "../policy/targets.js"
import { tokenize } from "../policy/tokenize.js"
import { effectiveTimeout, timeoutFloor } from "../resilience/CircuitBreaker.js"
import { RateLimiter } from "../resilience/RateLimiter.js"
import type { RunRequest } from "../runner/ProcessRunner.js"
import type { Approvals } from "../storage/Approvals.js"
import { SharedRateLimits } from "../storage/SharedRateLimits.js"
import { type RegisteredTool, ToolRegistry } from "../tools/ToolRegistry.js"
import { auditedTarget, policyHost, type ToolSpec } from "../tools/ToolSpec.js"
import type { Call } from "./call.js"
import { approvalGate, checkEngagementTime, engagementOf, throttleEngagement, withinTier } from "./engage.js"
import type { ToolInput } from "./ToolExecutor.js"
import { effectiveLimits } from "./toolInfo.js"

/**
 * Planning: from a decoded input, the caller and the configuration to
 * exactly what will run, or the typed reason it will not. Every check that
 * can refuse a call happens here, before anything waits or spawns; the steps
 * that need no service are plain functions.
 */

export interface ExecutorOptions {
  /** Whether tools may use raw sockets (root); otherwise specs rewrite to unprivileged equivalents. */
  readonly privileged: boolean
}

/** A registered tool whose binary was found. */
export type ReadyTool = RegisteredTool & { readonly path: string }

export interface Plan {
  readonly tool: ReadyTool
  readonly target: PinnedTarget
  /** The target as the audit log names it (a URL target in canonical form). */
  readonly auditTarget: string
  readonly intrusive: boolean
  /** What made the call intrusive, for the log line that announces it. */
  readonly intrusiveReasons: ReadonlyArray<string>
  /** What the server changed or decided on the caller's behalf (rewrites, resolution), for the result. */
  readonly notes: ReadonlyArray<string>
  /** The exact command, argv, timeout and limits; only the output observer is added at run time. */
  readonly request: Omit<RunRequest, "onOutput">
  readonly queueSize: number
  /**
   * Whether running out of time says anything about the tool: only with the
   * timeout the operator configured, so a caller cannot open a tool's breaker
   * for everyone by asking for short timeouts.
   */
  readonly timeoutCountsAgainstBreaker: boolean
  /** The engagement the call acts in and the hash of its content; null outside one. */
  readonly engagement: EngagementRef | null
  /** The approval the call runs under, with requester and approver; null when it needed none. */
  readonly approval: AuditApproval | null
}

export const mayExecute = (caller: Caller): Either.Either<void, Forbidden> =>
  caller.scopes.has("execute")
    ? Either.void
    : Either.left(new Forbidden({ message: `caller ${caller.id} may not execute tools; use an API key with the execute scope` }))

/** Why a registered tool cannot run now: disabled, or its binary missing; undefined when it can. */
const unready = (tool: RegisteredTool): ToolDisabled | ToolUnavailable | undefined => {
  const name = tool.spec.name
  if (!tool.enabled) {
    return new ToolDisabled({
      tool: name,
      message: `${name} is disabled by the operator; use another tool or ask the operator to enable it`
    })
  }
  if (tool.path === null) {
    return new ToolUnavailable({
      tool: name,
      message: `${name} is unavailable: ${tool.unavailableReason}; ask the operator to install it, or use another tool`
    })
  }
  return undefined
}

export const readyTool = (tool: RegisteredTool): Either.Either<ReadyTool, ToolDisabled | ToolUnavailable> => {
  const refusal = unready(tool)
  return refusal === undefined ? Either.right({ ...tool, path: tool.path! }) : Either.left(refusal)
}

/** Whether `throttle` takes tokens for this call. */
const throttles = (call: Call, config: AppConfig) => config.rate_limit.enabled && call.caller.transport !== "stdio"

/**
 * The tool's buckets, once the tool is known (the client's own bucket was
 * taken when the call arrived, see call.ts): the client's share of this
 * tool (`rate_limit.client_share` of its rate and burst), so that one client
 * cannot drain the bucket every client shares, and that bucket; a token from
 * both or from neither. A stdio server has one client, the local operator
 * who started it: it shares no tool bucket with anyone.
 */
const throttle = (call: Call, tool: string, config: AppConfig) => {
  const { rate_limit: limits } = config
  if (!throttles(call, config)) return Effect.void
  const share = limits.client_share
  return Effect.flatMap(RateLimiter, (rates) =>
    rates.takeAll([
      {
        key: `share:${tool}:${call.caller.id}`,
        perMinute: limits.tool_requests_per_minute * share,
        burst: Math.max(1, Math.floor(limits.tool_burst * share))
      },
      { key: `tool:${tool}`, perMinute: limits.tool_requests_per_minute, burst: limits.tool_burst }
    ]))
}

const templateArgs = (spec: ToolSpec<any>, name: string | undefined): Either.Either<ReadonlyArray<string>, InvalidInput> => {
  if (name === undefined) return Either.right([])
  const template = spec.templates.find((t) => t.name === name)
  if (template !== undefined) return Either.right(template.args)
  const known = spec.templates.map((t) => t.name)
  const issue = known.length === 0
    ? `template: ${spec.name} has no templates, so send null or leave it out; given ${JSON.stringify(name)}`
    : `template: expected one of ${known.join(", ")}, or null; given ${JSON.stringify(name)}`
  return Either.left(new InvalidInput({ message: `invalid tool input: ${issue}`, issues: [issue] }))
}

/** The template's arguments and the caller's tokens, checked against the tool's flag table. (Plain steps: every refused call takes them.) */
export const planArguments = (
  spec: ToolSpec<any>,
  input: ToolInput,
  config: AppConfig,
  caller: Caller
): Either.Either<ValidatedArgs, InvalidInput | ArgumentRejected | IntrusiveNotAllowed> => {
  if (input.args !== undefined && input.extra_args !== undefined) {
    const issue = "args, extra_args: give the arguments one way, as the args array or as the extra_args string, not both"
    return Either.left(new InvalidInput({ message: `invalid tool input: ${issue}`, issues: [issue] }))
  }
  const template = templateArgs(spec, input.template)
  if (Either.isLeft(template)) return Either.left(template.left)
  const tokens = input.args === undefined && input.extra_args !== undefined ? tokenize(input.extra_args) : Either.right(input.args ?? [])
  if (Either.isLeft(tokens)) return Either.left(tokens.left)
  return validateArgs(spec, [...template.right, ...tokens.right], {
    allowIntrusive: config.security.allow_intrusive,
    maxArgsLength: config.security.max_args_length,
    callerMayIntrude: caller.scopes.has("intrusive")
  }).pipe(Either.mapLeft((error) => withAcceptedFlags(spec, error)))
}

/** A flag the tool does not take: the message lists the ones it does, so the caller can pick one. */
const withAcceptedFlags = <E extends ExecutionError>(spec: ToolSpec<any>, error: E): E | ArgumentRejected =>
  error._tag === "ArgumentRejected" && error.rule === "unknown_flag"
    ? new ArgumentRejected({
      token: error.token,
      rule: error.rule,
      message: `${error.message}; it accepts ${spec.flags.map((f) => f.name).join(" ")}`
    })
    : error

const targetPolicy = (config: AppConfig): TargetPolicyOptions => ({
  allowed: config.security.allowed_targets,
  allowIpv6: config.security.allow_ipv6,
  maxNetworkSize: config.security.max_network_size
})

/** The server's target policy and the caller's own allow-list under it, if it has one. */
const targetPolicies = (config: AppConfig, caller: Caller) => {
  const policy = targetPolicy(config)
  return { policy, own: caller.allowedTargets === undefined ? undefined : { ...policy, allowed: caller.allowedTargets } }
}

/**
 * Check-then-pin under the server's policy and the caller's own allow-list,
 * then inside the engagement's scope; only network tools take a CIDR.
 */
const pinFor = (spec: ToolSpec<any>, original: string, config: AppConfig, caller: Caller, engagement: Engagement | undefined) =>
  Effect.gen(function*() {
    const host = yield* policyHost(spec.target, original)
    const { own, policy } = targetPolicies(config, caller)
    const pinned = yield* pinInEngagement(host, policy, own, engagement, {
      client: caller.id,
      perClient: config.security.dns_lookups_per_client,
      cacheSeconds: config.security.dns_cache_seconds,
      negativeCacheSeconds: config.security.dns_negative_cache_seconds
    })
    if (pinned.kind === "cidr" && spec.target.kind !== "network") {
      return yield* new TargetRejected({
        target: original,
        rule: "network_not_supported",
        message: `${spec.name} takes one host, not a network; give a single address or name`
      })
    }
    return { ...pinned, original }
  })

/** The seconds a call of `spec` may run: `requested` (a caller's timeout_sec, a schedule's max_runtime) within the tool's limits. */
export const callTimeout = (spec: ToolSpec<any>, requested: number | undefined, config: AppConfig) =>
  effectiveTimeout(requested, {
    configuredSeconds: effectiveLimits(spec, config).timeoutSeconds,
    floorSeconds: timeoutFloor(config, spec.name),
    capSeconds: config.security.timeout_seconds
  })

/** The argv, limits and notes of a call whose every check passed. */
export const assemble = (
  tool: ReadyTool,
  input: ToolInput,
  args: ValidatedArgs,
  target: PinnedTarget,
  config: AppConfig,
  options: ExecutorOptions
): Plan => {
  const { spec } = tool
  const rewritten = !options.privileged && spec.unprivileged !== undefined
    ? spec.unprivileged(args.tokens)
    : { args: args.tokens, notes: [] }
  const callerArgs = spec.expand?.(rewritten.args) ?? rewritten.args
  const targetArgs = spec.target.toArgs(target.pinned, target.original)
  const timeout = callTimeout(spec, input.timeout_sec, config)
  const timeoutSeconds = timeout.seconds
  const { security } = config
  return {
    tool,
    target,
    auditTarget: auditedTarget(spec.target, target.original),
    intrusive: spec.intrusive || args.intrusive,
    intrusiveReasons: spec.intrusive ? [`${spec.name} is intrusive`, ...args.intrusiveReasons] : args.intrusiveReasons,
    notes: [
      ...rewritten.notes,
      ...(timeout.raised ? [`timeout_sec raised to ${timeoutSeconds} s, the shortest ${spec.name} accepts`] : []),
      ...(target.kind === "hostname" ? [`${target.original} resolved once to ${target.pinned}; the tool was given the address`] : [])
    ],
    request: {
      command: tool.path,
      args: spec.target.position === "first"
        ? [...spec.fixedArgs, ...targetArgs, ...callerArgs]
        : [...spec.fixedArgs, ...callerArgs, ...targetArgs],
      timeout: Duration.seconds(timeoutSeconds),
      killGrace: Duration.seconds(security.kill_grace_seconds),
      limits: {
        addressSpaceBytes: security.max_memory_mb * 1024 * 1024,
        openFiles: security.max_file_descriptors,
        cpuSeconds: Math.ceil(timeoutSeconds) + 5
      },
      resourceLimits: security.resource_limits,
      maxStdoutBytes: security.max_output_size,
      maxStderrBytes: security.max_stderr_size
    },
    queueSize: config.tool.queue_size,
    timeoutCountsAgainstBreaker: timeout.countsAgainstBreaker,
    engagement: null,
    approval: null
  }
}

/** The tool by name; an unknown name lists the tools there are, so the caller can pick one. */
const lookUp = (name: string) =>
  Effect.flatMap(ToolRegistry, (registry) =>
    registry.get(name).pipe(
      Effect.catchTag("ToolNotFound", () =>
        Effect.flatMap(registry.all, (tools) =>
          new ToolNotFound({
            tool: name,
            message: `no tool named ${name}; the tools are ${tools.map((t) => t.spec.name).join(", ")}`
          })))
    ))

/**
 * Plans one call admitted by its client's bucket (call.ts), in the order its
 * checks answer: the caller's scope, the tool (an unknown or unusable one
 * before its input, which could not help), the input and its engagement, the
 * engagement's dates and windows, the tool's rate limits, the arguments and
 * the engagement's tier, the target (inside the engagement's scope), the
 * client's bucket shared by every instance (PostgreSQL only), and last,
 * with the exact argv known, the approval.
 */
export const planCall = (
  call: Call,
  input: Either.Either<ToolInput, InvalidInput | EngagementRejected>,
  config: AppConfig,
  options: ExecutorOptions
): Effect.Effect<Plan, ExecutionError, ToolRegistry | RateLimiter | Resolver | Approvals | SharedRateLimits> =>
  Effect.gen(function*() {
    yield* mayExecute(call.caller)
    const tool = yield* readyTool(yield* lookUp(call.tool))
    const accepted = yield* input
    const engagement = engagementOf(call, config)
    yield* checkEngagementTime(engagement)
    yield* throttle(call, tool.spec.name, config)
    yield* throttleEngagement(engagement, config)
    const scoped = yield* withinTier(engagement, tool.spec.name, yield* planArguments(tool.spec, accepted, config, call.caller))
    const target = yield* pinFor(tool.spec, accepted.target, config, call.caller, engagement)
    // Only a call this instance's bucket (call.ts) and the policy admitted costs a database round trip.
    yield* Effect.flatMap(SharedRateLimits, (shared) => shared.take(call.caller))
    const plan = assemble(tool, accepted, scoped.args, target, config, options)
    const engaged = { ...plan, notes: [...scoped.notes, ...plan.notes], engagement: call.engagement ?? null }
    return yield* approvalGate(call, engaged, engagement, accepted)
  })

/**
 * The refusal `planCall` gives a call when the steps it takes before any
 * service could answer decide it: the same functions in the same order, up
 * to the target's own policy. `undefined` whenever planning must be asked —
 * an unknown tool (its message lists the tools), an engagement, the tool's
 * rate limits, a target the policy accepts (a name to resolve, the
 * approval) — so this only ever returns a refusal planning would give, and
 * `planCall` remains the one place a call is accepted.
 */
export const plainRefusal = (
  call: Call,
  input: Either.Either<ToolInput, InvalidInput | EngagementRejected>,
  tool: RegisteredTool | undefined,
  config: AppConfig
): ExecutionError | undefined => {
  const scope = mayExecute(call.caller)
  if (Either.isLeft(scope)) return scope.left
  if (tool === undefined) return undefined
  const notReady = unready(tool)
  if (notReady !== undefined) return notReady
  if (Either.isLeft(input)) return input.left
  if (call.engagement !== undefined || throttles(call, config)) return undefined
  const args = planArguments(tool.spec, input.right, config, call.caller)
  if (Either.isLeft(args)) return args.left
  const host = policyHost(tool.spec.target, input.right.target)
  if (Either.isLeft(host)) return host.left
  const { own, policy } = targetPolicies(config, call.caller)
  const target = checkedTarget(host.right, policy, own)
  return Either.isLeft(target) ? target.left : undefined
}
