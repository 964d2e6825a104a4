import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Schema } from "effect"
import { chmodSync, copyFileSync, existsSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { CustomTool } from "../../src/config/schema.js"
import { validateArgs } from "../../src/policy/args.js"
import { builtinTools } from "../../src/tools/builtins.js"
import { customToolSpec, customToolSpecs, vetCustomBinary } from "../../src/tools/custom.js"
import { tempDir } from "../support/shims.js"

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

  it("item 4: refuses launchers, interpreters, restricted shells and loaders by name, versioned or not", () => {
    const names = [
      "setpriv",
      "taskset",
      "time",
      "flock",
      "nice",
      "ionice",
      "timeout",
      "stdbuf",
      "chroot",
      "nohup",
      "tclsh",
      "tclsh8.6",
      "lua5.4",
      "perl5.36.0",
      "pypy3",
      "gawk",
      "mawk",
      "nawk",
      "rbash",
      "rksh",
      "ld-linux-x86-64.so.2",
      "ld.so",
      "ld-musl-x86_64.so.1",
      "/lib64/ld-linux-x86-64.so.2",
      "Python3",
      "ip"
    ]
    for (const binary of names) {
      expect(problems(decode({ ...hostTool, binary }))[0], binary).toMatch(/runs other programs or code/)
    }
  })

  it("item 4: refuses forbidden flags and fixed arguments in every spelling nmap's getopt accepts", () => {
    const flags = ["-datadir", "--datad", "--script-a", "-script-args", "-iflist", "--excludef"]
    const bad = decode({ ...hostTool, flags: flags.map((name) => ({ name })) })
    expect(problems(bad)).toHaveLength(flags.length)
    for (const fixed of [["--datadir=/tmp"], ["-oN/tmp/x"], ["-datadir", "/tmp"], ["--script-args-f", "x"], ["-iL", "/etc/passwd"]]) {
      const issues = problems(decode({ ...hostTool, fixed_args: fixed }))
      expect(issues.length, fixed.join(" ")).toBe(1)
      expect(issues[0]).toMatch(/^fixed argument .* is forbidden on this server/)
    }
    expect(problems(decode({ ...hostTool, fixed_args: ["-W", "3", "--timeout=5", "plain"] }))).toEqual([])
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
      "flag -iLhosts is forbidden on this server as -iL (with a value attached): it reads targets from a file on the server",
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

describe("item 4: vetCustomBinary judges the real file, not its name", () => {
  const refused = (binary: string, searchPath?: string) =>
    Effect.map(Effect.flip(vetCustomBinary(binary, searchPath)), (error) => error.message)

  it.scoped("follows symlinks to shells, interpreters and launchers", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("vet")
      const targets = ["/bin/sh", "/bin/dash", "/usr/bin/env", "/usr/bin/tclsh", "/usr/bin/perl", "/usr/bin/taskset", "/usr/bin/awk"]
      for (const [i, target] of targets.filter((t) => existsSync(t)).entries()) {
        const link = join(dir, `scanner${i}`)
        symlinkSync(target, link)
        expect(yield* refused(link), target).toMatch(/is not accepted as a custom tool/)
        // Found on PATH under a harmless name, too.
        expect(yield* refused(`scanner${i}`, dir), target).toMatch(/real file is/)
      }
    }))

  it.scoped("refuses renamed copies of installed shells and launchers, and of the dynamic loader", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("vet")
      for (const source of ["/bin/dash", "/usr/bin/env", "/usr/bin/setpriv", "/lib64/ld-linux-x86-64.so.2"].filter((s) => existsSync(s))) {
        const copy = join(dir, `tool-${source.split("/").pop()!.replace(/[^a-z]/g, "")}`)
        copyFileSync(source, copy)
        chmodSync(copy, 0o755)
        expect(yield* refused(copy), source).toMatch(/is not accepted as a custom tool: it is (the|a|the glibc)/)
      }
    }))

  it.scoped("refuses #! scripts, whatever interpreter they name", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("vet")
      const script = join(dir, "wrapper")
      writeFileSync(script, "#!/usr/bin/nmap\n")
      chmodSync(script, 0o755)
      expect(yield* refused(script)).toMatch(/it is a script run by '\/usr\/bin\/nmap'/)
      // Unless the operator vouches for it; a trusted script is still no symlink to a shell.
      expect(yield* vetCustomBinary(script, undefined, true)).toBe(script)
      const link = join(dir, "trusted-link")
      symlinkSync("/bin/sh", link)
      expect(yield* Effect.flip(vetCustomBinary(link, undefined, true))).toMatchObject({ _tag: "SpawnFailed" })
    }))

  it.scoped("accepts an ordinary program, also behind a symlink", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("vet")
      const real = ["/usr/bin/nmap", "/usr/bin/true", "/bin/true"].find((p) => existsSync(p))!
      const link = join(dir, "scan")
      symlinkSync(real, link)
      expect(yield* vetCustomBinary(link)).toBe(link)
      expect(yield* vetCustomBinary(real)).toBe(real)
    }))

  it("custom specs carry the check for the registry", () => {
    const spec = Either.getOrThrow(customToolSpec(hostTool, options))
    expect(spec.vetBinary).toBeDefined()
  })
})
