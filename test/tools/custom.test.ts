import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { CustomTool } from "../../src/config/schema.js"
import { validateArgs } from "../../src/policy/args.js"
import { builtinTools } from "../../src/tools/builtins.js"
import { customToolSpec, customToolSpecs } from "../../src/tools/custom.js"

const decode = (input: unknown) => Schema.decodeUnknownSync(CustomTool)(input)

const options = { reservedNames: builtinTools.map((t) => t.name), defaultTimeoutSeconds: 300, defaultConcurrency: 2 }

const hostTool = decode({
  name: "HostTool",
  description: "DNS lookups with host",
  binary: "host",
  fixed_args: ["-W", "3"],
  flags: [
    { name: "-t", value: { type: "enum", values: ["A", "MX", "TXT"] } },
    { name: "-R", value: { type: "int", min: 1, max: 3 } },
    { name: "-a", intrusive: true }
  ],
  timeout: 20
})

const problems = (tool: CustomTool) => {
  const spec = customToolSpec(tool, options)
  return Either.isLeft(spec) ? spec.left.issues : []
}

describe("customToolSpec", () => {
  it("builds a spec the argument policy can enforce", () => {
    const spec = Either.getOrThrow(customToolSpec(hostTool, options))
    expect(spec).toMatchObject({
      name: "HostTool",
      binary: "host",
      fixedArgs: ["-W", "3"],
      defaultTimeoutSeconds: 20,
      defaultConcurrency: 2,
      intrusive: false,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true }
    })
    expect(spec.flags).toEqual([
      { name: "-t", value: { _tag: "Enum", values: ["A", "MX", "TXT"] }, description: "", intrusive: false },
      { name: "-R", value: { _tag: "Int", min: 1, max: 3 }, description: "", intrusive: false },
      { name: "-a", value: { _tag: "None" }, description: "", intrusive: true }
    ])
    expect(spec.target.toArgs("10.0.0.5", "web.lab.internal")).toEqual(["10.0.0.5"])
    expect(Either.isRight(validateArgs(spec, ["-t", "MX", "-R", "2"], { allowIntrusive: false, maxArgsLength: 2048 }))).toBe(true)
    expect(Either.isLeft(validateArgs(spec, ["-R", "9"], { allowIntrusive: false, maxArgsLength: 2048 }))).toBe(true)
    expect(Either.isLeft(validateArgs(spec, ["-a"], { allowIntrusive: false, maxArgsLength: 2048 }))).toBe(true)
  })

  it("refuses shells, interpreters and command runners as the binary", () => {
    for (const binary of ["sh", "/bin/bash", "env", "sudo", "python3", "python3.11", "/usr/bin/perl", "xargs", "busybox", "nc"]) {
      expect(problems(decode({ ...hostTool, binary }))[0]).toMatch(/runs other programs or code/)
    }
  })

  it("refuses relative paths and parent directories", () => {
    expect(problems(decode({ ...hostTool, binary: "bin/tool" }))).toEqual([
      "binary 'bin/tool' must be a bare name looked up on PATH or an absolute path"
    ])
    expect(problems(decode({ ...hostTool, binary: "/usr/../bin/tool" }))).toEqual(["binary '/usr/../bin/tool' contains '..'"])
  })

  it("refuses duplicate flags, forbidden flags, empty ranges and repeated enum values, listing every problem", () => {
    const bad = decode({
      ...hostTool,
      flags: [
        { name: "-t" },
        { name: "-t" },
        { name: "-oN" },
        { name: "-iLhosts" },
        { name: "--datadir", value: { type: "none" } },
        { name: "-n", value: { type: "int", min: 5, max: 1 } },
        { name: "-x", value: { type: "enum", values: ["a", "a"] } }
      ]
    })
    expect(problems(bad)).toEqual([
      "flag -t is listed more than once",
      "flag -oN is forbidden on this server: it writes a file on the server; the output format is set by the server",
      "flag -iLhosts is forbidden on this server: it reads targets from a file on the server",
      "flag --datadir is forbidden on this server: it loads scripts and data files from a chosen directory (code execution)",
      "flag -n: min 5 is greater than max 1",
      "flag -x: enum values repeat"
    ])
    const spec = customToolSpec(bad, options)
    expect(
      Either.isLeft(spec) && spec.left._tag === "ConfigInvalid" && spec.left.message.startsWith("Custom tool HostTool is not accepted: ")
    ).toBe(true)
  })

  it("refuses a built-in tool's name", () => {
    expect(problems(decode({ ...hostTool, name: "NmapTool" }))).toEqual(["name 'NmapTool' is already taken by another tool"])
  })
})

describe("customToolSpecs", () => {
  it("accepts distinct tools and refuses a repeated name", () => {
    const ok = customToolSpecs([hostTool, decode({ ...hostTool, name: "HostTool2" })], options)
    expect(Either.isRight(ok) && ok.right.map((s) => s.name)).toEqual(["HostTool", "HostTool2"])
    const dup = customToolSpecs([hostTool, hostTool], options)
    expect(Either.isLeft(dup) && dup.left.issues).toEqual(["HostTool: name 'HostTool' is already taken by another tool"])
  })
})
