import { describe, expect, it } from "@effect/vitest"
import { Duration, Either, Schema } from "effect"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { decodeToolInput, oversizedInput } from "../../src/execution/input.js"
import { assemble, mayExecute, planArguments, type ReadyTool, readyTool } from "../../src/execution/plan.js"
import type { PinnedTarget } from "../../src/policy/pin.js"
import { digSpec } from "../../src/tools/dig.js"
import { nmapSpec } from "../../src/tools/nmap/spec.js"
import { policyHost } from "../../src/tools/ToolSpec.js"
import { caller } from "./support.js"

/** Planning is plain functions over data: no services, no I/O. */

const config = Schema.decodeUnknownSync(AppConfig)(defaults)
const tool = (spec: ReadyTool["spec"]): ReadyTool => ({
  spec,
  path: `/opt/${spec.binary}`,
  version: null,
  unavailableReason: null,
  enabled: true
})
const ip = (address: string): PinnedTarget => ({ original: address, pinned: address, addresses: [address], kind: "ip", family: 4 })
const input = (raw: unknown) => Either.getOrThrow(decodeToolInput(raw))

describe("planning", () => {
  it("refuses a caller without the execute scope, and a disabled or missing tool", () => {
    expect(Either.isLeft(mayExecute({ ...caller, scopes: new Set() }))).toBe(true)
    expect(Either.isRight(mayExecute(caller))).toBe(true)
    expect(readyTool({ ...tool(nmapSpec), enabled: false })).toMatchObject({ left: { _tag: "ToolDisabled" } })
    expect(readyTool({ ...tool(nmapSpec), path: null, unavailableReason: "nmap not found" })).toMatchObject({
      left: { _tag: "ToolUnavailable", message: expect.stringMatching(/^NmapTool is unavailable: nmap not found; ask the operator/) }
    })
  })

  it("checks the template and the caller's tokens against the flag table", () => {
    const ok = planArguments(nmapSpec, input({ target: "127.0.0.1", template: "quick", extra_args: "-p 80" }), config, caller)
    expect(ok).toMatchObject({ right: { tokens: ["-T4", "-F", "-p", "80"], intrusive: false } })
    const both = planArguments(nmapSpec, input({ target: "x", args: ["-sT"], extra_args: "-sT" }), config, caller)
    expect(both).toMatchObject({
      left: { _tag: "InvalidInput", issues: [expect.stringMatching(/^args, extra_args: give the arguments one way/)] }
    })
    const unknown = planArguments(nmapSpec, input({ target: "x", template: "nope" }), config, caller)
    expect(unknown).toMatchObject({
      left: { _tag: "InvalidInput", issues: ["template: expected one of quick, standard, thorough, discovery, or null; given \"nope\""] }
    })
    expect(planArguments(nmapSpec, input({ target: "x", args: ["-iL", "/etc/passwd"] }), config, caller)).toMatchObject({
      left: { _tag: "ArgumentRejected" }
    })
  })

  it("assembles fixed, caller and target arguments in the spec's order, with the limits", () => {
    const args = Either.getOrThrow(planArguments(digSpec, input({ target: "127.0.0.1", args: ["-q", "a.lab.internal"] }), config, caller))
    const plan = assemble(tool(digSpec), input({ target: "127.0.0.1", timeout_sec: 5 }), args, ip("127.0.0.1"), config, {
      privileged: true
    })
    expect(plan.request.command).toBe("/opt/dig")
    expect(plan.request.args.indexOf("@127.0.0.1")).toBeLessThan(plan.request.args.indexOf("-q"))
    expect(Duration.toSeconds(Duration.decode(plan.request.timeout))).toBe(5)
    expect(plan.request.limits.cpuSeconds).toBe(10)
    expect(plan.queueSize).toBe(config.tool.queue_size)
  })

  it("judges only the host of a URL target", () => {
    expect(policyHost({ kind: "url", toArgs: () => [] }, "https://web.lab.internal:8443/a")).toEqual(Either.right("web.lab.internal"))
    expect(policyHost({ kind: "url", toArgs: () => [] }, "ftp://web.lab.internal/")).toMatchObject({
      left: { _tag: "TargetRejected", rule: "url_not_allowed" }
    })
    expect(policyHost({ kind: "host", toArgs: () => [] }, "web.lab.internal:80")).toEqual(Either.right("web.lab.internal:80"))
  })

  it("names each bad field, what it takes and what was given; null stands for an absent optional field", () => {
    expect(decodeToolInput({ target: "a", args: null, extra_args: null, template: null, timeout_sec: null, correlation_id: null }))
      .toEqual(Either.right({ target: "a" }))
    const bad = decodeToolInput({ target: 42, args: "-sV", junk: 1 })
    expect(bad).toMatchObject({
      left: {
        _tag: "InvalidInput",
        issues: [
          "junk: not a field of the tool input; the fields are target, args, extra_args, template, timeout_sec, correlation_id, engagement, approval_id",
          "target: expected one IP address, host name or CIDR network as a string of 1 to 253 characters, given 42",
          expect.stringMatching(/^args: expected an array of at most 128 strings.*, given "-sV"$/)
        ]
      }
    })
    expect(Either.isLeft(bad) && bad.left.message).toMatch(/^invalid tool input: junk: .*Fix these fields and call again\.$/)
    expect(decodeToolInput({})).toMatchObject({ left: { issues: [expect.stringMatching(/^target: expected .*, given nothing$/)] } })
    expect(decodeToolInput("127.0.0.1")).toMatchObject({ left: { issues: [expect.stringMatching(/^\(root\): expected an object/)] } })
  })

  it("bounds the depth and size of raw input before decoding", () => {
    let deep: unknown = "x"
    for (let i = 0; i < 100_000; i++) deep = [deep]
    expect(oversizedInput(deep)).toContain("nests deeper")
    expect(oversizedInput({ target: "127.0.0.1", args: ["-sV", "-p", "80"] })).toBeUndefined()
    expect(oversizedInput(Array.from({ length: 10_001 }, () => 0))).toContain("more than")
  })
})
