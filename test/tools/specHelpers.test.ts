import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { validateArgs } from "../../src/policy/args.js"
import type { FlagSpec } from "../../src/policy/flags.js"
import { builtinTools } from "../../src/tools/builtins.js"
import { unprivilegedRewrite } from "../../src/tools/specHelpers.js"
import type { ToolSpec } from "../../src/tools/ToolSpec.js"

/** Canonical tokens for one flag: its name, then a value token when it takes one. */
const tokensOf = (flag: FlagSpec): ReadonlyArray<string> => (flag.value._tag === "None" ? [flag.name] : [flag.name, "1"])

describe("unprivileged rewrites of the built-in tools", () => {
  const withPrivilegedFlags = builtinTools.filter((spec) => spec.flags.some((flag) => flag.privileged === true))

  it("exist for every tool whose table has privileged flags", () => {
    expect(withPrivilegedFlags.map((spec) => spec.name)).toEqual(["NmapTool", "TracerouteTool"])
    for (const spec of withPrivilegedFlags) expect(spec.unprivileged, spec.name).toBeDefined()
  })

  const cases = withPrivilegedFlags.flatMap((spec: ToolSpec<any>) => spec.flags.map((flag) => ({ spec, flag })))

  it("remove every privileged flag, with a note naming it, and leave arguments the table accepts", () => {
    for (const { flag, spec } of cases.filter((c) => c.flag.privileged === true)) {
      const { args, notes } = spec.unprivileged!(tokensOf(flag))
      for (const token of tokensOf(flag)) expect(args, `${spec.name} ${flag.name}`).not.toContain(token)
      expect(notes, `${spec.name} ${flag.name}`).toHaveLength(1)
      expect(notes[0]).toMatch(new RegExp(`^${flag.name} (dropped|replaced by)`))
      expect(notes[0]).toContain("not running as root")
      const revalidated = validateArgs(spec, args, { allowIntrusive: true, maxArgsLength: 2048 })
      expect(Either.isRight(revalidated), `${spec.name} ${flag.name} → ${args.join(" ")}`).toBe(true)
    }
  })

  it("touch no unprivileged flag", () => {
    for (const { flag, spec } of cases.filter((c) => c.flag.privileged !== true)) {
      const args = tokensOf(flag)
      expect(spec.unprivileged!(args), `${spec.name} ${flag.name}`).toEqual({ args, notes: [] })
    }
  })
})

describe("unprivilegedRewrite", () => {
  const flags: ReadonlyArray<FlagSpec> = [
    { name: "--raw-ttl", aliases: ["-t"], value: { _tag: "Int", min: 1, max: 255 }, description: "Crafted TTL", privileged: true },
    { name: "--syn", value: { _tag: "None" }, description: "SYN probes", privileged: true },
    { name: "--connect", value: { _tag: "None" }, description: "Connect probes" },
    { name: "--count", value: { _tag: "Int", min: 1, max: 9 }, description: "Probes" }
  ]
  const rewrite = unprivilegedRewrite({
    binary: "probe",
    flags,
    replacements: [{ flag: "--syn", by: ["--connect"], why: "SYN probes need raw sockets" }],
    instead: "; defaults used"
  })

  it("drops a valued privileged flag together with its value, also under an alias, and notes each once", () => {
    expect(rewrite(["--raw-ttl", "5", "--count", "3", "-t", "7", "--raw-ttl", "5"])).toEqual({
      args: ["--count", "3"],
      notes: [
        "--raw-ttl 5 dropped (Crafted TTL): it needs raw sockets and probe is not running as root; defaults used",
        "-t 7 dropped (Crafted TTL): it needs raw sockets and probe is not running as root; defaults used"
      ]
    })
  })

  it("replaces a flag with its stand-in once, even when the stand-in is also given", () => {
    const note = "--syn replaced by --connect: SYN probes need raw sockets and probe is not running as root"
    expect(rewrite(["--syn", "--count", "2"])).toEqual({ args: ["--connect", "--count", "2"], notes: [note] })
    expect(rewrite(["--syn", "--connect"])).toEqual({ args: ["--connect"], notes: [note] })
  })
})
