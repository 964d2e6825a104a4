import { Cause, Duration, Effect, Either, Exit, Layer, Metric, Option, ParseResult, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { ConfigService } from "../config/ConfigService.js"
import { type ExecutionError, Forbidden, InvalidInput, TargetRejected, ToolDisabled, ToolUnavailable } from "../errors.js"
import { Events } from "../events/Events.js"
import { type Caller } from "../identity/Caller.js"
import { AuditLog } from "../observability/AuditLog.js"
import { policyRejections, toolActive, toolErrors, toolExecutions, toolExecutionSeconds } from "../observability/metrics.js"
import { ToolStats } from "../observability/ToolStats.js"
import { validateArgs } from "../policy/args.js"
import { pinTarget } from "../policy/pin.js"
import { Resolver } from "../policy/Resolver.js"
import { tokenize } from "../policy/tokenize.js"
import { CircuitBreakers } from "../resilience/CircuitBreaker.js"
import { ConcurrencyLimiter } from "../resilience/ConcurrencyLimiter.js"
import { RateLimiter } from "../resilience/RateLimiter.js"
import { ProcessRunner, type RunResult } from "../runner/ProcessRunner.js"
import { type RegisteredTool, ToolRegistry } from "../tools/ToolRegistry.js"
import { urlTargetHost } from "../tools/urlTarget.js"
import { ExecutionGate } from "./ExecutionGate.js"
import { monotonicProgress } from "./progress.js"
import { type ExecuteOptions, type ExecutionResult, ToolExecutor, ToolInput } from "./ToolExecutor.js"
import { effectiveLimits, toolInfo } from "./toolInfo.js"

export interface ExecutorOptions {
  /** Whether tools may use raw sockets (root); otherwise specs rewrite to unprivileged equivalents. */
  readonly privileged: boolean
}

const decodeInput = Schema.decodeUnknownEither(ToolInput, { onExcessProperty: "error", errors: "all" })

const inputError = (error: ParseResult.ParseError) =>
  new InvalidInput({
    message: "invalid tool input",
    issues: ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
  })

/** The target a malformed input names, for its audit line: only a short string is taken as it is. */
const claimedTarget = (raw: unknown): string => {
  const target = typeof raw === "object" && raw !== null ? (raw as { readonly target?: unknown }).target : undefined
  return typeof target === "string" ? target.slice(0, 253) : ""
}

type Outcome = "success" | "failure" | "timeout" | "rejected" | "cancelled"

/** What a finished process means for the caller, the breaker and the metrics. */
const judge = (
  tool: RegisteredTool,
  run: RunResult
): { outcome: Outcome; errorType: ExecutionResult["error_type"]; error: string | null } => {
  if (run.timedOut) return { outcome: "timeout", errorType: "timeout", error: "execution timed out; the process group was killed" }
  if (run.signal !== null) return { outcome: "failure", errorType: "signal", error: `killed by ${run.signal}` }
  if (run.exitCode === 0 || (run.exitCode !== null && tool.spec.okExitCodes.includes(run.exitCode))) {
    return { outcome: "success", errorType: null, error: null }
  }
  return { outcome: "failure", errorType: "exit_code", error: `exited with code ${run.exitCode}` }
}

export const ToolExecutorLive = (options: ExecutorOptions) =>
  Layer.effect(
    ToolExecutor,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const registry = yield* ToolRegistry
      const runner = yield* ProcessRunner
      const breakers = yield* CircuitBreakers
      const limiter = yield* ConcurrencyLimiter
      const rates = yield* RateLimiter
      const stats = yield* ToolStats
      const audit = yield* AuditLog
      const events = yield* Events
      const resolver = yield* Resolver
      const gate = yield* ExecutionGate

      const describe = (tool: RegisteredTool) =>
        Effect.gen(function*() {
          const c = yield* config.get
          return toolInfo(tool, c, yield* breakers.state(tool.spec.name), yield* stats.forTool(tool.spec.name))
        })

      const execute = (name: string, rawInput: unknown, caller: Caller, opts?: ExecuteOptions) =>
        Effect.gen(function*() {
          const started = yield* Effect.sync(() => performance.now())
          const c = yield* config.get
          const decoded = decodeInput(rawInput)
          const correlationId = Either.match(decoded, { onLeft: () => randomUUID(), onRight: (i) => i.correlation_id ?? randomUUID() })
          // Malformed calls are audited too, with whatever target they named.
          const target = Either.match(decoded, { onLeft: () => claimedTarget(rawInput), onRight: (i) => i.target })
          const auditBase = { correlationId, caller, tool: name.slice(0, 64), target }

          const rejected = (error: ExecutionError) =>
            Effect.gen(function*() {
              const rule = "rule" in error ? String(error.rule) : error._tag
              // Names from the request become labels only once known: otherwise every made-up name is a new series forever.
              const label = error._tag === "ToolNotFound" ? "unknown" : name
              yield* Metric.increment(Metric.tagged(Metric.tagged(policyRejections, "tool", label), "rule", rule))
              yield* audit.record({
                ...auditBase,
                resolvedTarget: null,
                argv: [],
                decision: `rejected:${error._tag}`,
                outcome: "rejected",
                durationSeconds: (performance.now() - started) / 1000,
                intrusive: false,
                error: { tag: error._tag, message: error.message }
              })
              yield* events.publish({
                type: "execution.finished",
                tool: name,
                correlationId,
                caller: caller.id,
                outcome: "rejected",
                errorType: error._tag,
                durationSeconds: (performance.now() - started) / 1000
              })
              return yield* Effect.fail(error)
            })

          const input = yield* Either.mapLeft(decoded, inputError).pipe(Effect.catchAll(rejected))

          const prepared = yield* Effect.gen(function*() {
            if (!caller.scopes.has("execute")) {
              return yield* new Forbidden({ message: `caller ${caller.id} may not execute tools` })
            }
            const tool = yield* registry.get(name)
            if (!tool.enabled) return yield* new ToolDisabled({ tool: name, message: `${name} is disabled by the operator` })
            if (tool.path === null) {
              return yield* new ToolUnavailable({ tool: name, message: `${name} is unavailable: ${tool.unavailableReason}` })
            }
            if (c.rate_limit.enabled) {
              // The client's own bucket first: a client over its limit must not keep draining the tool's shared one.
              yield* rates.take(`client:${caller.id}`, c.rate_limit.client_requests_per_minute, c.rate_limit.burst)
              yield* rates.take(`tool:${name}`, c.rate_limit.tool_requests_per_minute, c.rate_limit.burst)
            }
            if (input.args !== undefined && input.extra_args !== undefined) {
              return yield* new InvalidInput({ message: "give args or extra_args, not both", issues: ["args", "extra_args"] })
            }
            const template = input.template === undefined ? [] : yield* Option.match(
              Option.fromNullable(tool.spec.templates.find((t) => t.name === input.template)),
              {
                onNone: () =>
                  Effect.fail(
                    new InvalidInput({
                      message: `unknown template ${input.template}; known: ${tool.spec.templates.map((t) => t.name).join(", ") || "none"}`,
                      issues: ["template"]
                    })
                  ),
                onSome: (t) => Effect.succeed(t.args)
              }
            )
            const callerTokens = input.args ?? (input.extra_args === undefined ? [] : yield* tokenize(input.extra_args))
            const validated = yield* validateArgs(tool.spec, [...template, ...callerTokens], {
              allowIntrusive: c.security.allow_intrusive,
              maxArgsLength: c.security.max_args_length,
              callerMayIntrude: caller.scopes.has("intrusive")
            })
            const intrusive = tool.spec.intrusive || validated.intrusive
            const targetPolicy = {
              allowed: c.security.allowed_targets,
              allowIpv6: c.security.allow_ipv6,
              maxNetworkSize: c.security.max_network_size
            }
            const callerPolicy = caller.allowedTargets === undefined ? undefined : { ...targetPolicy, allowed: caller.allowedTargets }
            /** URL targets (HTTP/TLS probes) carry a scheme and port; only their host is subject to the target policy. */
            const host = tool.spec.target.kind === "url" ? urlTargetHost(input.target) : input.target
            if (host === undefined) {
              return yield* new InvalidInput({ message: `${input.target} is not a valid http(s) URL or host[:port]`, issues: ["target"] })
            }
            const pinnedHost = yield* pinTarget(host, targetPolicy, callerPolicy).pipe(Effect.provideService(Resolver, resolver))
            if (pinnedHost.kind === "cidr" && tool.spec.target.kind !== "network") {
              return yield* new TargetRejected({
                target: input.target,
                rule: "network_not_supported",
                message: `${name} takes one host, not a network; give a single address or name`
              })
            }
            const pinned = { ...pinnedHost, original: input.target }
            const rewritten = !options.privileged && tool.spec.unprivileged !== undefined
              ? tool.spec.unprivileged(validated.tokens)
              : { args: validated.tokens, notes: [] }
            const callerArgs = tool.spec.expand?.(rewritten.args) ?? rewritten.args
            const targetArgs = tool.spec.target.toArgs(pinned.pinned, pinned.original)
            return {
              tool,
              path: tool.path,
              intrusive,
              intrusiveReasons: tool.spec.intrusive ? [`${name} is intrusive`, ...validated.intrusiveReasons] : validated.intrusiveReasons,
              pinned,
              args: tool.spec.target.position === "first"
                ? [...tool.spec.fixedArgs, ...targetArgs, ...callerArgs]
                : [...tool.spec.fixedArgs, ...callerArgs, ...targetArgs],
              notes: [
                ...rewritten.notes,
                ...(pinned.kind === "hostname"
                  ? [`${pinned.original} resolved once to ${pinned.pinned}; the tool was given the address`]
                  : [])
              ]
            }
          }).pipe(Effect.catchAll(rejected))

          const limits = effectiveLimits(prepared.tool.spec, c)
          const timeoutSeconds = Math.min(input.timeout_sec ?? limits.timeoutSeconds, c.security.timeout_seconds)
          const concurrency = limits.concurrency
          const progress = prepared.tool.spec.progress
          const onProgress = opts?.onProgress
          const advance = monotonicProgress()
          const onOutput = progress === undefined || onProgress === undefined
            ? undefined
            : (_stream: "stdout" | "stderr", chunk: string) => {
              const raw = progress(chunk)
              const step = raw === undefined ? undefined : advance(raw)
              return step === undefined
                ? Effect.void
                : onProgress({ progress: step.value, total: 100, message: `${name}: phase ${step.phase}, ${raw!.toFixed(1)}%` })
            }

          if (prepared.intrusive) {
            yield* Effect.logWarning(`intrusive execution of ${name}`).pipe(
              Effect.annotateLogs({ caller: caller.id, target: input.target, reasons: prepared.intrusiveReasons.join("; ") })
            )
          }
          yield* events.publish({ type: "execution.started", tool: name, correlationId, caller: caller.id, target: input.target })

          const run = runner.run({
            command: prepared.path,
            args: prepared.args,
            timeout: Duration.seconds(timeoutSeconds),
            killGrace: Duration.seconds(c.security.kill_grace_seconds),
            limits: {
              addressSpaceBytes: c.security.max_memory_mb * 1024 * 1024,
              openFiles: c.security.max_file_descriptors,
              cpuSeconds: Math.ceil(timeoutSeconds) + 5
            },
            resourceLimits: c.security.resource_limits,
            maxStdoutBytes: c.security.max_output_size,
            maxStderrBytes: c.security.max_stderr_size,
            ...(onOutput === undefined ? {} : { onOutput })
          })

          const finish = (
            outcome: Outcome,
            errorType: string | null,
            argv: ReadonlyArray<string>,
            error: { tag: string; message: string } | null
          ) =>
            Effect.gen(function*() {
              const durationSeconds = (performance.now() - started) / 1000
              yield* Metric.increment(
                Metric.tagged(
                  Metric.tagged(Metric.tagged(toolExecutions, "tool", name), "status", outcome),
                  "error_type",
                  errorType ?? "none"
                )
              )
              yield* Metric.update(Metric.tagged(toolExecutionSeconds, "tool", name), durationSeconds)
              if (errorType !== null) {
                yield* Metric.increment(Metric.tagged(Metric.tagged(toolErrors, "tool", name), "error_type", errorType))
              }
              if (outcome !== "rejected") yield* stats.record(name, { durationSeconds, outcome, errorType })
              yield* audit.record({
                ...auditBase,
                resolvedTarget: prepared.pinned.pinned,
                argv,
                decision: "allowed",
                outcome,
                durationSeconds,
                intrusive: prepared.intrusive,
                error
              })
              yield* events.publish({
                type: "execution.finished",
                tool: name,
                correlationId,
                caller: caller.id,
                outcome,
                errorType,
                durationSeconds
              })
            })

          const active = Metric.tagged(toolActive, "tool", name)
          /**
           * Waiting for a slot happens outside the breaker: a full queue says nothing about the tool's health,
           * and a half-open trial must not be spent waiting. Only spawn failures and bad process outcomes count.
           */
          const exit = yield* limiter.withPermit(name, concurrency, c.tool.queue_size)(
            breakers.protect(
              name,
              stats.trackActive(
                name,
                Effect.acquireUseRelease(Metric.increment(active), () => run, () => Metric.incrementBy(active, -1))
              ),
              {
                isFailure: (e) =>
                  Exit.match(e, {
                    onFailure: (cause) => Option.exists(Cause.failureOption(cause), (error) => error._tag === "SpawnFailed"),
                    onSuccess: (r) => judge(prepared.tool, r).outcome !== "success"
                  })
              }
            )
          ).pipe(
            // An interrupted fiber runs nothing after this step, so a cancellation is accounted for here, as it happens.
            Effect.onInterrupt(() => finish("cancelled", "cancelled", [], null)),
            Effect.exit
          )

          const durationSeconds = (performance.now() - started) / 1000

          if (Exit.isFailure(exit)) {
            if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
            const failure = Cause.failureOption(exit.cause)
            if (Option.isNone(failure)) return yield* Effect.failCause(exit.cause)
            const error = failure.value
            /** Turned away by the breaker or a full queue: the tool did not run, so it did not fail. */
            const turnedAway = error._tag === "CircuitOpen" || error._tag === "ToolBusy"
            yield* finish(turnedAway ? "rejected" : "failure", error._tag, [], { tag: error._tag, message: error.message })
            return yield* Effect.fail(error)
          }

          const result = exit.value
          const verdict = judge(prepared.tool, result)
          yield* finish(
            verdict.outcome,
            verdict.errorType,
            result.argv,
            verdict.error === null ? null : { tag: verdict.errorType ?? "error", message: verdict.error }
          )
          const parse = prepared.tool.spec.parse
          const parsed = parse === undefined || result.stdout.length === 0 ?
            undefined :
            yield* Effect.try(() => parse(result.stdout, result.stderr)).pipe(
              Effect.tapError((e) => Effect.logWarning(`parser of ${name} failed`, e)),
              Effect.option,
              Effect.map(Option.getOrUndefined)
            )
          const notes = [
            ...prepared.notes,
            ...(result.notes ?? []),
            ...(result.truncatedStdout ? [`stdout truncated at ${c.security.max_output_size} bytes`] : []),
            ...(result.truncatedStderr ? [`stderr truncated at ${c.security.max_stderr_size} bytes`] : [])
          ]
          const summary = parsed?.summary ??
            (verdict.error === null ? result.stdout.slice(0, 4000) : `${verdict.error}\n${result.stderr.slice(0, 2000)}`)
          return {
            tool: name,
            stdout: result.stdout,
            stderr: result.stderr,
            returncode: result.exitCode,
            signal: result.signal,
            truncated_stdout: result.truncatedStdout,
            truncated_stderr: result.truncatedStderr,
            timed_out: result.timedOut,
            error: verdict.error,
            error_type: verdict.errorType,
            execution_time: Math.round(durationSeconds * 1000) / 1000,
            correlation_id: correlationId,
            metadata: {
              target: prepared.pinned.original,
              resolved_target: prepared.pinned.pinned,
              argv: result.argv,
              intrusive: prepared.intrusive,
              notes
            },
            structured: parsed?.data ?? null,
            summary: notes.length > 0 ? `${summary}\nNotes: ${notes.join("; ")}` : summary
          } satisfies ExecutionResult
        })

      return {
        list: registry.all.pipe(Effect.flatMap((tools) => Effect.forEach(tools, describe))),
        execute: (name, input, caller, opts) => gate.track(name, execute(name, input, caller, opts)),
        setEnabled: (name, enabled) => registry.setEnabled(name, enabled).pipe(Effect.flatMap(describe)),
        setCircuit: (name, state) =>
          registry.get(name).pipe(
            Effect.tap(() => (state === "open" ? breakers.forceOpen(name) : breakers.forceClose(name))),
            Effect.tap(() => Effect.logWarning(`circuit of ${name} forced ${state} by an operator`)),
            Effect.flatMap(describe)
          )
      }
    })
  )
