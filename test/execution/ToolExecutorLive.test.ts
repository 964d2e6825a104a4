import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Exit, Fiber, Metric, Option, Queue, TestClock } from "effect"
import { MAX_INPUT_DEPTH } from "../../src/execution/input.js"
import type { Progress } from "../../src/execution/ToolExecutor.js"
import { policyRejections, toolExecutions } from "../../src/observability/metrics.js"
import { resolveBinary } from "../../src/runner/resolveBinary.js"
import { caller, makeHarness } from "./support.js"

const FIXED = ["-oX", "-", "-n", "--stats-every", "5s"]

/** Where the registry finds nmap: whatever PATH says on this machine. */
const nmapPath = Effect.orDie(resolveBinary("nmap"))

/** `depth` arrays nested in one another around a string. */
const nested = (depth: number): unknown => {
  let value: unknown = "-sV"
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

const executions = (status: string, errorType: string) =>
  Metric.value(Metric.tagged(Metric.tagged(Metric.tagged(toolExecutions, "tool", "NmapTool"), "status", status), "error_type", errorType))
    .pipe(
      Effect.map((state) => state.count)
    )

/** The typed failure of an execution, or undefined when it succeeded. */
const errorOf = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error : undefined

describe("ToolExecutorLive", () => {
  it.scoped("passes fixed args, the template, the caller's tokens and the target to the runner, in that order", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", template: "quick", args: ["-sV", "-p", "22,80"] }, caller)
      const [request, ...others] = yield* h.fake.requests
      expect(others).toEqual([])
      expect(request?.command).toBe(yield* nmapPath)
      expect(request?.args).toEqual([...FIXED, "-T4", "-F", "-sV", "-p", "22,80", "127.0.0.1"])
      expect(result.returncode).toBe(0)
      expect(result.error).toBeNull()
      expect(result.metadata.resolved_target).toBe("127.0.0.1")
      expect(result.structured).not.toBeNull()
      expect(result.summary).toContain("18080")
    }))

  it.scoped("splits extra_args on whitespace and canonicalises --flag=value", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1", extra_args: " -sT   --top-ports=20 " }, caller)
      const [request] = yield* h.fake.requests
      expect(request?.args).toEqual([...FIXED, "-sT", "--top-ports", "20", "127.0.0.1"])
    }))

  it.scoped("pins a host name to the address it resolved to, once, and says so", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const result = yield* h.executor.execute("NmapTool", { target: "web.lab.internal", args: ["-p", "443"] }, caller)
      const [request] = yield* h.fake.requests
      expect(request?.args).toEqual([...FIXED, "-p", "443", "10.0.0.5"])
      expect(request?.args).not.toContain("web.lab.internal")
      expect(result.metadata.target).toBe("web.lab.internal")
      expect(result.metadata.resolved_target).toBe("10.0.0.5")
      expect(result.metadata.notes.join(" ")).toContain("resolved once to 10.0.0.5")
    }))

  it.scoped("rewrites raw-socket scans for an unprivileged server and notes it", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({}, { privileged: false })
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", args: ["-sS", "-p", "80"] }, caller)
      const [request] = yield* h.fake.requests
      expect(request?.args).toEqual([...FIXED, "-sT", "-p", "80", "127.0.0.1"])
      expect(result.metadata.notes.join(" ")).toContain("-sS replaced by -sT")
    }))

  describe("rejections never reach the runner and are audited", () => {
    const cases = [
      { name: "public target", patch: {}, input: { target: "8.8.8.8" }, tag: "TargetRejected" },
      { name: "unknown host name", patch: {}, input: { target: "nowhere.lab.internal" }, tag: "TargetRejected" },
      { name: "forbidden flag", patch: {}, input: { target: "127.0.0.1", args: ["-oN", "/tmp/x"] }, tag: "ArgumentRejected" },
      { name: "glued forbidden flag", patch: {}, input: { target: "127.0.0.1", extra_args: "-iL/etc/passwd" }, tag: "ArgumentRejected" },
      { name: "flag outside the allow-list", patch: {}, input: { target: "127.0.0.1", args: ["--no-such-flag"] }, tag: "ArgumentRejected" },
      {
        name: "intrusive script without allow_intrusive",
        patch: {},
        input: { target: "127.0.0.1", args: ["--script", "vuln"] },
        tag: "IntrusiveNotAllowed"
      },
      { name: "disabled tool", patch: { tools: { NmapTool: { enabled: false } } }, input: { target: "127.0.0.1" }, tag: "ToolDisabled" },
      { name: "unknown template", patch: {}, input: { target: "127.0.0.1", template: "nope" }, tag: "InvalidInput" },
      {
        name: "args and extra_args together",
        patch: {},
        input: { target: "127.0.0.1", args: ["-sT"], extra_args: "-sT" },
        tag: "InvalidInput"
      }
    ] as const
    for (const c of cases) {
      it.scoped(c.name, () =>
        Effect.gen(function*() {
          const h = yield* makeHarness(c.patch)
          const exit = yield* h.executor.execute("NmapTool", c.input, caller).pipe(Effect.exit)
          expect(errorOf(exit)?._tag).toBe(c.tag)
          expect(yield* h.fake.requests).toEqual([])
          const lines = yield* h.audit
          expect(lines).toHaveLength(1)
          expect(lines[0]).toMatchObject({
            caller_id: "tester",
            tool: "NmapTool",
            target: c.input.target,
            decision: `rejected:${c.tag}`,
            outcome: "rejected",
            argv: [],
            error_tag: c.tag
          })
        }))
    }

    it.scoped("a caller without the execute scope", () =>
      Effect.gen(function*() {
        const h = yield* makeHarness()
        const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, { ...caller, scopes: new Set() }).pipe(Effect.exit)
        expect(errorOf(exit)?._tag).toBe("Forbidden")
        expect(yield* h.fake.requests).toEqual([])
      }))

    it.scoped("a target outside the caller's own allow-list", () =>
      Effect.gen(function*() {
        const h = yield* makeHarness()
        const exit = yield* h.executor.execute("NmapTool", { target: "10.0.0.9" }, { ...caller, allowedTargets: ["10.1.0.0/16"] }).pipe(
          Effect.exit
        )
        expect(errorOf(exit)?._tag).toBe("TargetRejected")
        expect(yield* h.fake.requests).toEqual([])
      }))
  })

  it.scoped("allows an intrusive script when the configuration and the caller's scope allow it, and audits it as intrusive", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ security: { allow_intrusive: true } })
      const intruder = { ...caller, scopes: new Set(["execute", "intrusive"] as const) }
      const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", args: ["--script", "vuln"] }, intruder)
      expect(result.metadata.intrusive).toBe(true)
      expect((yield* h.fake.requests)[0]?.args).toContain("(vuln and not (broadcast or external or dos or fcrdns))")
      expect((yield* h.audit)[0]).toMatchObject({ decision: "allowed", intrusive: true })
      const denied = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", args: ["--script", "vuln"] }, caller).pipe(Effect.exit)
      expect(errorOf(denied)?._tag).toBe("IntrusiveNotAllowed")
    }))

  it.scoped("dig gets its server before the lookups, so every lookup goes to the target", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.executor.execute("DigTool", { target: "127.0.0.1", args: ["-q", "a.lab.internal", "-q", "b.lab.internal"] }, caller)
      const [request] = yield* h.fake.requests
      const args = request!.args
      expect(args.indexOf("@127.0.0.1")).toBeLessThan(args.indexOf("-q"))
    }))

  it.scoped("malformed input is refused and audited like any other rejection", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", args: "-sV", bogus: 1 }, caller).pipe(Effect.exit)
      expect(errorOf(exit)?._tag).toBe("InvalidInput")
      expect(yield* h.fake.requests).toHaveLength(0)
      expect((yield* h.audit)[0]).toMatchObject({ decision: "rejected:InvalidInput", outcome: "rejected", target: "127.0.0.1" })
    }))

  describe("deeply nested input is a typed InvalidInput, audited, never a defect", () => {
    const cases = [
      { name: "in args", input: { target: "127.0.0.1", args: nested(10_000) } },
      { name: "in an unknown field", input: { target: "127.0.0.1", junk: nested(10_000) } },
      { name: "just past the bound", input: { target: "127.0.0.1", args: nested(MAX_INPUT_DEPTH) } },
      { name: "as the whole input", input: nested(10_000) },
      { name: "as a wide document", input: { target: "127.0.0.1", args: Array.from({ length: 20_000 }, () => "-sV") } }
    ]
    for (const c of cases) {
      it.scoped(c.name, () =>
        Effect.gen(function*() {
          const h = yield* makeHarness()
          const exit = yield* h.executor.execute("NmapTool", c.input, caller).pipe(Effect.exit)
          expect(errorOf(exit)).toMatchObject({ _tag: "InvalidInput", message: expect.stringContaining("invalid tool input: (root): ") })
          expect(JSON.stringify(errorOf(exit))).toMatch(/nests deeper than|more than \d+ values/)
          expect(yield* h.fake.requests).toEqual([])
          const [line, ...more] = yield* h.audit
          expect(more).toEqual([])
          expect(line).toMatchObject({ decision: "rejected:InvalidInput", outcome: "rejected", error_tag: "InvalidInput" })
        }))
    }

    it.scoped("nesting within the bound reaches the schema, which names the field", () =>
      Effect.gen(function*() {
        const h = yield* makeHarness()
        const input = { target: "127.0.0.1", args: nested(MAX_INPUT_DEPTH - 3) }
        const error = errorOf(yield* h.executor.execute("NmapTool", input, caller).pipe(Effect.exit))
        expect(error?._tag).toBe("InvalidInput")
        expect(error && "issues" in error && error.issues.join()).toMatch(/^args: expected an array of at most 128 strings.*, given \[\[\[/)
      }))
  })

  it.scoped("single-host tools refuse network targets", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const exit = yield* h.executor.execute("PingTool", { target: "127.0.0.0/30" }, caller).pipe(Effect.exit)
      expect(errorOf(exit)).toMatchObject({ _tag: "TargetRejected", rule: "network_not_supported" })
      expect(yield* h.fake.requests).toHaveLength(0)
    }))

  it.scoped("made-up tool names do not become metric labels", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      for (const name of ["junk1", "junk2"]) yield* h.executor.execute(name, { target: "127.0.0.1" }, caller).pipe(Effect.exit)
      const unknown = yield* Metric.value(Metric.tagged(Metric.tagged(policyRejections, "tool", "unknown"), "rule", "ToolNotFound"))
      expect(unknown.count).toBeGreaterThanOrEqual(2)
      const junk = yield* Metric.value(Metric.tagged(Metric.tagged(policyRejections, "tool", "junk1"), "rule", "ToolNotFound"))
      expect(junk.count).toBe(0)
    }))

  it.scoped("caps the timeout at security.timeout_seconds and passes the resource limits", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ security: { timeout_seconds: 7, max_memory_mb: 64, max_file_descriptors: 32, max_output_size: 4096 } })
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1", timeout_sec: 1000 }, caller)
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1", timeout_sec: 3 }, caller)
      const [capped, asked] = yield* h.fake.requests
      expect(Duration.toSeconds(Duration.decode(capped!.timeout))).toBe(7)
      expect(Duration.toSeconds(Duration.decode(asked!.timeout))).toBe(3)
      expect(capped?.limits).toEqual({ addressSpaceBytes: 64 * 1024 * 1024, openFiles: 32, cpuSeconds: 12 })
      expect(capped?.maxStdoutBytes).toBe(4096)
    }))

  it.scoped("a per-tool timeout override applies when the caller gives none, still under the cap", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ security: { timeout_seconds: 60 }, tools: { NmapTool: { timeout: 20 } } })
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      const [request] = yield* h.fake.requests
      expect(Duration.toSeconds(Duration.decode(request!.timeout))).toBe(20)
    }))

  it.scoped("timed-out and failed runs count against the breaker; once open, CircuitOpen without running", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ circuit_breaker: { failure_threshold: 2 } })
      yield* h.fake.behave({ _tag: "Finish", result: { timedOut: true, exitCode: null, signal: "SIGKILL", stdout: "" } })
      const timedOut = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      expect(timedOut).toMatchObject({ timed_out: true, error_type: "timeout" })
      yield* h.fake.behave({ _tag: "Finish", result: { exitCode: 1, stdout: "", stderr: "boom" } })
      const failed = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      expect(failed).toMatchObject({ returncode: 1, error_type: "exit_code" })
      expect(yield* h.breakers.state("NmapTool")).toBe("OPEN")
      yield* h.fake.behave({ _tag: "Finish" })
      const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
      expect(errorOf(exit)?._tag).toBe("CircuitOpen")
      expect(yield* h.fake.requests).toHaveLength(2)
      const outcomes = (yield* h.audit).map((line) => line["outcome"])
      expect(outcomes).toEqual(["started", "timeout", "started", "failure", "rejected"])
    }))

  it.scoped("a timeout the caller chose shorter than the tool's own does not count against the breaker", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ circuit_breaker: { failure_threshold: 1 } })
      yield* h.fake.behave({ _tag: "Finish", result: { timedOut: true, exitCode: null, signal: "SIGKILL", stdout: "" } })
      for (let i = 0; i < 3; i++) {
        const result = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", timeout_sec: 5 }, caller)
        expect(result).toMatchObject({ timed_out: true, error_type: "timeout" })
      }
      expect(yield* h.breakers.state("NmapTool")).toBe("CLOSED")
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      expect(yield* h.breakers.state("NmapTool")).toBe("OPEN")
    }))

  it.scoped("spawn failures count against the breaker; policy rejections do not", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ circuit_breaker: { failure_threshold: 2 } })
      for (let i = 0; i < 3; i++) yield* h.executor.execute("NmapTool", { target: "8.8.8.8" }, caller).pipe(Effect.exit)
      expect(yield* h.breakers.state("NmapTool")).toBe("CLOSED")
      yield* h.fake.behave({ _tag: "SpawnFailed" })
      for (let i = 0; i < 2; i++) {
        const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
        expect(errorOf(exit)?._tag).toBe("SpawnFailed")
      }
      expect(yield* h.breakers.state("NmapTool")).toBe("OPEN")
    }))

  it.scoped("ToolBusy when the running slots and the queue are full, without opening the breaker", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({
        tools: { NmapTool: { concurrency: 1 } },
        tool: { queue_size: 1 },
        circuit_breaker: { failure_threshold: 1 }
      })
      yield* h.fake.behave({ _tag: "Hang" })
      const running = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* Queue.take(h.fake.started)
      const queued = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* h.limiter.queued("NmapTool").pipe(Effect.repeat({ until: (n) => n === 1 }))
      const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
      expect(errorOf(exit)?._tag).toBe("ToolBusy")
      expect(yield* h.fake.requests).toHaveLength(1)
      expect(yield* h.breakers.state("NmapTool")).toBe("CLOSED")
      yield* Fiber.interrupt(running)
      yield* Queue.take(h.fake.started)
      yield* Fiber.interrupt(queued)
      expect(yield* h.fake.requests).toHaveLength(2)
    }))

  it.scoped("a full queue does not count as a breaker success: a half-open circuit stays half-open", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({
        tools: { NmapTool: { concurrency: 1 } },
        tool: { queue_size: 0 },
        circuit_breaker: { failure_threshold: 1, recovery_timeout: 1, half_open_success_threshold: 1 }
      })
      yield* h.fake.behave({ _tag: "Finish", result: { exitCode: 1, stdout: "" } })
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      expect(yield* h.breakers.state("NmapTool")).toBe("OPEN")
      yield* TestClock.adjust(Duration.seconds(2))
      yield* h.fake.behave({ _tag: "Hang" })
      const trial = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* Queue.take(h.fake.started)
      const busy = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
      expect(errorOf(busy)?._tag).toBe("ToolBusy")
      expect(yield* h.breakers.state("NmapTool")).toBe("HALF_OPEN")
      yield* Fiber.interrupt(trial)
    }))

  it.scoped("an operator can hold the circuit open and close it again", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const opened = yield* h.executor.setCircuit("NmapTool", "open")
      expect(opened.circuitState).toBe("OPEN")
      const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
      expect(errorOf(exit)?._tag).toBe("CircuitOpen")
      expect(yield* h.fake.requests).toHaveLength(0)
      const closed = yield* h.executor.setCircuit("NmapTool", "closed")
      expect(closed.circuitState).toBe("CLOSED")
      yield* h.fake.behave({ _tag: "Finish" })
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      const [info] = (yield* h.executor.list).filter((t) => t.name === "NmapTool")
      expect(info?.stats).toMatchObject({ total: 1, successRate: 1 })
    }))

  it.scoped("security.concurrency_limit caps a tool's own concurrency", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ security: { concurrency_limit: 1 }, tools: { NmapTool: { concurrency: 8 } }, tool: { queue_size: 0 } })
      yield* h.fake.behave({ _tag: "Hang" })
      const running = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* Queue.take(h.fake.started)
      const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
      expect(errorOf(exit)?._tag).toBe("ToolBusy")
      yield* Fiber.interrupt(running)
    }))

  it.scoped("RateLimited once the tool's bucket is empty", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ rate_limit: { enabled: true, tool_requests_per_minute: 1, tool_burst: 1 } })
      const other = { ...caller, id: "other" }
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, other).pipe(Effect.exit)
      expect(errorOf(exit)).toMatchObject({ _tag: "RateLimited", scope: "tool:NmapTool" })
      expect(yield* h.fake.requests).toHaveLength(1)
      yield* TestClock.adjust(Duration.minutes(1))
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, other)
      expect(yield* h.fake.requests).toHaveLength(2)
    }))

  it.scoped("a client over its own limit is refused before it can drain the tool's shared bucket", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ rate_limit: { enabled: true, tool_requests_per_minute: 2, client_requests_per_minute: 1, burst: 1 } })
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      for (let i = 0; i < 5; i++) {
        const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
        expect(errorOf(exit)).toMatchObject({ _tag: "RateLimited", scope: `client:${caller.id}` })
      }
      yield* TestClock.adjust(Duration.seconds(30))
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, { ...caller, id: "other" })
      expect(yield* h.fake.requests).toHaveLength(2)
    }))

  it.scoped("the stdio operator has its own, higher limit and no shared tool bucket", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ rate_limit: { enabled: true, tool_requests_per_minute: 1, burst: 1, stdio_burst: 20 } })
      const operator = { ...caller, id: "stdio", transport: "stdio" as const }
      for (let i = 0; i < 20; i++) yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, operator)
      const exit = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, operator).pipe(Effect.exit)
      expect(errorOf(exit)).toMatchObject({ _tag: "RateLimited", scope: "stdio:stdio" })
      expect(yield* h.fake.requests).toHaveLength(20)
    }))

  it.scoped("an unknown tool is ToolNotFound before its input is looked at, and the message lists the tools", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const exit = yield* h.executor.execute("NoSuchTool", { target: 42, junk: true }, caller).pipe(Effect.exit)
      expect(errorOf(exit)).toMatchObject({
        _tag: "ToolNotFound",
        message: expect.stringMatching(/^no tool named NoSuchTool; the tools are NmapTool, /)
      })
    }))

  it.scoped("null optional fields are accepted as absent; an unknown flag's error lists the accepted ones", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const input = { target: "127.0.0.1", args: ["-p", "80"], extra_args: null, template: null, timeout_sec: null, correlation_id: null }
      const result = yield* h.executor.execute("NmapTool", input, caller)
      expect(result.metadata.argv).toEqual(expect.arrayContaining(["-p", "80", "127.0.0.1"]))
      const refused = yield* h.executor.execute("NmapTool", { target: "127.0.0.1", args: ["--bogus"] }, caller).pipe(Effect.exit)
      expect(errorOf(refused)).toMatchObject({
        _tag: "ArgumentRejected",
        rule: "unknown_flag",
        message: expect.stringContaining("it accepts -sT -sS")
      })
    }))

  it.scoped("writes a started line before the spawn and one outcome line per allowed execution, with the exact argv and the resolved target", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.executor.execute("NmapTool", { target: "web.lab.internal", args: ["-p", "80"], correlation_id: "audit-1" }, caller)
      const lines = yield* h.audit
      expect(lines).toHaveLength(2)
      const argv = [yield* nmapPath, ...FIXED, "-p", "80", "10.0.0.5"]
      expect(lines[0]).toMatchObject({ outcome: "started", argv, correlation_id: "audit-1", resolved_target: "10.0.0.5" })
      expect(lines[1]!["execution_id"]).toBe(lines[0]!["execution_id"])
      expect(lines[1]).toMatchObject({
        caller_id: "tester",
        caller_transport: "http",
        caller_address: "127.0.0.1",
        tool: "NmapTool",
        target: "web.lab.internal",
        resolved_target: "10.0.0.5",
        argv: [yield* nmapPath, ...FIXED, "-p", "80", "10.0.0.5"],
        decision: "allowed",
        outcome: "success",
        intrusive: false,
        correlation_id: "audit-1",
        error_tag: null
      })
    }))

  it.scoped("counts mcp_tool_execution_total once per execution with stable labels", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const success = yield* executions("success", "none")
      const timeout = yield* executions("timeout", "timeout")
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      yield* h.fake.behave({ _tag: "Finish", result: { timedOut: true, exitCode: null, signal: "SIGKILL" } })
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller)
      expect((yield* executions("success", "none")) - success).toBe(2)
      expect((yield* executions("timeout", "timeout")) - timeout).toBe(1)
    }))

  it.scoped("publishes execution.started and execution.finished events", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1", correlation_id: "ev-1" }, caller)
      const events = Chunk.toReadonlyArray(yield* Queue.takeAll(h.events))
      expect(events.map((e) => e.type)).toEqual(["execution.started", "execution.finished"])
      expect(events[1]).toMatchObject({ tool: "NmapTool", correlationId: "ev-1", caller: "tester", outcome: "success", errorType: null })
    }))

  it.scoped("reports monotonic progress parsed from the tool's output", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const seen: Array<Progress> = []
      yield* h.fake.behave({
        _tag: "Finish",
        chunks: [
          `<taskprogress task="Connect Scan" time="1" percent="10.00" remaining="9" etc="10"/>`,
          `<taskprogress task="Connect Scan" time="2" percent="60.00" remaining="4" etc="10"/>`,
          `<taskprogress task="Connect Scan" time="2" percent="60.00" remaining="4" etc="10"/>`
        ]
      })
      yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller, {
        onProgress: (p) => Effect.sync(() => seen.push(p))
      })
      // a repeated report is a sign of life: it goes out too, a little higher
      expect(seen).toHaveLength(3)
      expect(seen[0]!.progress).toBeLessThan(seen[1]!.progress)
      expect(seen[1]!.progress).toBeLessThan(seen[2]!.progress)
      expect(seen.every((p) => p.total === 100)).toBe(true)
      expect(seen[2]!.message).toMatch(/^NmapTool: Connect Scan 60\.0%, about 4 s left; \d+ s elapsed$/)
    }))

  it.scoped("while the tool reports nothing, progress still goes out every server.progress_interval", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness({ server: { progress_interval: 5 } })
      const seen: Array<Progress> = []
      yield* h.fake.behave({ _tag: "Hang" })
      const running = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller, {
        onProgress: (p) => Effect.sync(() => seen.push(p))
      }))
      yield* Queue.take(h.fake.started)
      for (let i = 0; i < 4; i++) yield* TestClock.adjust("5 seconds")
      expect(seen.map((p) => p.message)).toEqual([5, 10, 15, 20].map((s) => `NmapTool: running; ${s} s elapsed`))
      yield* Fiber.interrupt(running)
    }))

  it.scoped("interrupting an execution interrupts the runner and records it as cancelled", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      const before = yield* executions("cancelled", "cancelled")
      yield* h.fake.behave({ _tag: "Hang" })
      const fiber = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1", correlation_id: "cancel-1" }, caller))
      const request = yield* Queue.take(h.fake.started)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect(yield* Queue.take(h.fake.interrupted)).toBe(request)
      const [started, outcome] = yield* h.audit
      expect(started).toMatchObject({ correlation_id: "cancel-1", outcome: "started" })
      // The cancelled line names the command line that had started, not an empty one.
      expect(outcome).toMatchObject({ correlation_id: "cancel-1", decision: "allowed", outcome: "cancelled", argv: started!["argv"] })
      const finished = Chunk.toReadonlyArray(yield* Queue.takeAll(h.events)).filter((e) => e.type === "execution.finished")
      expect(finished).toMatchObject([{ correlationId: "cancel-1", outcome: "cancelled" }])
      expect((yield* executions("cancelled", "cancelled")) - before).toBe(1)
      expect(yield* h.gate.inFlight).toBe(0)
    }))

  it.scoped("draining refuses new executions, then interrupts those still running after the grace period", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.fake.behave({ _tag: "Hang" })
      const running = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1", correlation_id: "drain-1" }, caller))
      const request = yield* Queue.take(h.fake.started)
      const drain = yield* Effect.fork(h.gate.drain(Duration.seconds(5)))
      yield* TestClock.adjust(Duration.seconds(1))
      const refused = yield* h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller).pipe(Effect.exit)
      expect(errorOf(refused)).toMatchObject({ _tag: "ToolUnavailable", message: expect.stringMatching(/^the server is shutting down/) })
      expect(yield* h.fake.requests).toHaveLength(1)
      expect(Option.isNone(yield* Fiber.poll(running))).toBe(true)
      yield* TestClock.adjust(Duration.seconds(5))
      expect(yield* Fiber.join(drain)).toBe(1)
      expect(yield* Queue.take(h.fake.interrupted)).toBe(request)
      // Killed, it answers with the typed error (a 503 over HTTP), not an interruption (an empty response).
      expect(errorOf(yield* Fiber.await(running))).toMatchObject({ _tag: "ToolUnavailable", message: expect.stringMatching(/killed/) })
      expect((yield* h.audit).at(-1)).toMatchObject({ correlation_id: "drain-1", outcome: "cancelled" })
      expect(yield* h.gate.inFlight).toBe(0)
    }))

  it.scoped("draining returns as soon as running executions finish", () =>
    Effect.gen(function*() {
      const h = yield* makeHarness()
      yield* h.fake.behave({ _tag: "Hang" })
      const running = yield* Effect.fork(h.executor.execute("NmapTool", { target: "127.0.0.1" }, caller))
      yield* Queue.take(h.fake.started)
      const drain = yield* Effect.fork(h.gate.drain(Duration.minutes(10)))
      yield* Fiber.interrupt(running)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* Fiber.join(drain)).toBe(0)
    }))
})
