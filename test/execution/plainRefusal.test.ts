import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Either, Exit, Option } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { receive } from "../../src/execution/call.js"
import { engage } from "../../src/execution/engage.js"
import { plainRefusal, planCall } from "../../src/execution/plan.js"
import { errorResponse } from "../../src/http/errorStatus.js"
import type { Caller } from "../../src/identity/Caller.js"
import { ToolRegistry } from "../../src/tools/ToolRegistry.js"
import { caller, makeHarness } from "./support.js"

/**
 * `plainRefusal` answers a refused call without planning (ToolExecutorLive):
 * it may only ever give the refusal `planCall` gives — the same error, so
 * the same status, headers and body — and must leave everything else to it.
 * Each case runs both ways on the same call.
 */

interface Case {
  readonly name: string
  readonly tool?: string
  readonly input: unknown
  readonly caller?: Caller
  readonly patch?: Parameters<typeof makeHarness>[0]
  /** What planning says: a refusal's tag, or "planned". */
  readonly planned: string
  /** Whether the plain steps decide it (false: left to planning). */
  readonly plain: boolean
}

const noScope: Caller = { ...caller, scopes: new Set() }
const ownList: Caller = { ...caller, allowedTargets: ["10.1.0.0/16"] }
const limits = { rate_limit: { enabled: true } }

const cases: ReadonlyArray<Case> = [
  { name: "public address", input: { target: "8.8.8.8" }, planned: "TargetRejected", plain: true },
  { name: "public network", input: { target: "8.8.8.0/24" }, planned: "TargetRejected", plain: true },
  { name: "too large a network", input: { target: "10.0.0.0/8" }, planned: "TargetRejected", plain: true },
  { name: "outside the caller's own list", input: { target: "10.0.0.9" }, caller: ownList, planned: "TargetRejected", plain: true },
  { name: "malformed target", input: { target: "a b" }, planned: "TargetRejected", plain: true },
  { name: "forbidden flag", input: { target: "127.0.0.1", args: ["-oN", "/tmp/x"] }, planned: "ArgumentRejected", plain: true },
  { name: "unknown flag", input: { target: "127.0.0.1", args: ["--bogus"] }, planned: "ArgumentRejected", plain: true },
  {
    name: "intrusive script",
    input: { target: "127.0.0.1", args: ["--script", "vuln"] },
    planned: "IntrusiveNotAllowed",
    plain: true
  },
  { name: "unknown template", input: { target: "127.0.0.1", template: "nope" }, planned: "InvalidInput", plain: true },
  { name: "malformed input", input: { target: "127.0.0.1", bogus: 1 }, planned: "InvalidInput", plain: true },
  { name: "no execute scope", input: { target: "127.0.0.1" }, caller: noScope, planned: "Forbidden", plain: true },
  {
    name: "disabled tool",
    input: { target: "127.0.0.1" },
    patch: { rate_limit: { enabled: false }, tools: { NmapTool: { enabled: false } } },
    planned: "ToolDisabled",
    plain: true
  },
  {
    name: "a single-host tool given a network",
    tool: "PingTool",
    input: { target: "127.0.0.0/30" },
    planned: "TargetRejected",
    plain: false
  },
  { name: "unknown tool", tool: "NoSuchTool", input: { target: "127.0.0.1" }, planned: "ToolNotFound", plain: false },
  { name: "a reserved name", input: { target: "nowhere.invalid" }, planned: "TargetRejected", plain: true },
  { name: "a name that does not resolve", input: { target: "nowhere.lab.internal" }, planned: "TargetRejected", plain: false },
  { name: "a public target under rate limits", input: { target: "8.8.8.8" }, patch: limits, planned: "TargetRejected", plain: false },
  { name: "an allowed target", input: { target: "127.0.0.1" }, planned: "planned", plain: false },
  { name: "an allowed name", input: { target: "web.lab.internal" }, planned: "planned", plain: false }
]

const fields = (error: { readonly _tag: string }) => ({ ...error, _tag: error._tag, response: errorResponse(error as never) })

describe("plainRefusal", () => {
  for (const c of cases) {
    it.scoped(c.name, () =>
      Effect.gen(function*() {
        // The server's rate limits take tokens before the target is judged: off unless the case turns them on.
        const h = yield* makeHarness({ rate_limit: { enabled: false }, ...c.patch })
        const config = yield* Context.get(h.context, ConfigService).get
        const registry = Context.get(h.context, ToolRegistry)
        const name = c.tool ?? "NmapTool"
        const who = c.caller ?? caller
        const { call, input } = engage(yield* receive(name, c.input, who, name), config)
        const tool = Option.getOrUndefined(Either.getRight(yield* Effect.either(registry.get(name))))
        const plain = plainRefusal(call, input, tool, config)
        const planned = yield* planCall(call, input, config, { privileged: true }).pipe(Effect.provide(h.context), Effect.exit)
        const refusal = Exit.isFailure(planned) && planned.cause._tag === "Fail" ? planned.cause.error : undefined
        expect(refusal?._tag ?? "planned").toBe(c.planned)
        expect(plain !== undefined).toBe(c.plain)
        if (plain !== undefined) expect(fields(plain)).toEqual(fields(refusal!))
        // And through the executor, which takes the plain answer when there is one: the same refusal again.
        const executed = yield* h.executor.execute(name, c.input, who).pipe(Effect.exit)
        if (refusal !== undefined && Exit.isFailure(executed) && executed.cause._tag === "Fail") {
          expect(fields(executed.cause.error)).toEqual(fields(refusal))
          const [line] = (yield* h.audit).filter((l) => l["decision"] !== "allowed")
          expect(line).toMatchObject({ decision: `rejected:${refusal._tag}`, outcome: "rejected" })
        }
        // plainRefuser (what the HTTP server's Node lane asks): the plain refusal, recorded as execute records it; otherwise nothing.
        const before = yield* h.audit
        const plainly = (yield* h.executor.plainRefuser!)(name, c.input, who)
        const after = (yield* h.audit).slice(before.length)
        if (plain === undefined) {
          expect(plainly).toBeUndefined()
          expect(after).toEqual([])
        } else {
          expect(plainly && fields(plainly)).toEqual(fields(refusal!))
          const recorded = (line: Record<string, unknown>) =>
            Object.fromEntries(
              Object.entries(line).filter(([k]) => !["timestamp", "correlation_id", "execution_id", "duration_seconds"].includes(k))
            )
          expect(after.map(recorded)).toEqual(before.filter((l) => l["decision"] !== "allowed").map(recorded))
        }
      }))
  }

  it.scoped("plainRefuser leaves to execute a refusal that must wait for its audit line, and calls under rate limits", () =>
    Effect.gen(function*() {
      for (const patch of [{ security: { audit_fail_closed: "all" as const } }, limits]) {
        const h = yield* makeHarness({ rate_limit: { enabled: false }, ...patch })
        expect((yield* h.executor.plainRefuser!)("NmapTool", { target: "8.8.8.8" }, caller)).toBeUndefined()
        expect(yield* h.audit).toEqual([])
        const executed = yield* h.executor.execute("NmapTool", { target: "8.8.8.8" }, caller).pipe(Effect.exit)
        expect(Exit.isFailure(executed) && executed.cause._tag === "Fail" && executed.cause.error._tag).toBe("TargetRejected")
      }
    }))
})
