import type { FlagSpec } from "../policy/flags.js"
import type { ToolSpec } from "./ToolSpec.js"

/** MCP hints of a tool that only observes: it changes nothing on the target, and repeating a call is harmless. */
export const readOnlyProbe: ToolSpec["annotations"] = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true
}

/** A privileged flag that has an unprivileged stand-in, e.g. nmap's `-sS` becoming `-sT`. */
export interface Replacement {
  readonly flag: string
  readonly by: ReadonlyArray<string>
  /** What needs raw sockets, as the start of a sentence ("a SYN scan needs raw sockets"). */
  readonly why: string
}

export interface UnprivilegedOptions {
  readonly binary: string
  readonly flags: ReadonlyArray<FlagSpec>
  readonly replacements?: ReadonlyArray<Replacement>
  /** Added to every note about a dropped flag, e.g. what the tool does instead. */
  readonly instead?: string
}

/**
 * The `unprivileged` rewrite a flag table implies: every flag marked
 * `privileged` is dropped with its value, or replaced when the tool has a
 * stand-in for it, each change with a note. It reads validated arguments,
 * where every flag is spelled as in the table and a value is its own token.
 */
export const unprivilegedRewrite = (options: UnprivilegedOptions): NonNullable<ToolSpec["unprivileged"]> => {
  const privileged = new Map<string, FlagSpec>()
  for (const flag of options.flags.filter((f) => f.privileged === true)) {
    for (const name of [flag.name, ...(flag.aliases ?? [])]) privileged.set(name, flag)
  }
  const replacements = new Map((options.replacements ?? []).map((r) => [r.flag, r] as const))
  const notRoot = `${options.binary} is not running as root`
  return (args) => {
    const out: Array<string> = []
    const notes: Array<string> = []
    const note = (text: string) => {
      if (!notes.includes(text)) notes.push(text)
    }
    for (let i = 0; i < args.length; i++) {
      const token = args[i] ?? ""
      const flag = privileged.get(token)
      const replacement = flag === undefined ? undefined : replacements.get(flag.name)
      if (flag === undefined) {
        out.push(token)
      } else if (replacement !== undefined) {
        for (const added of replacement.by) if (!args.includes(added) && !out.includes(added)) out.push(added)
        note(`${token} replaced by ${replacement.by.join(" ")}: ${replacement.why} and ${notRoot}`)
      } else {
        const dropped = args.slice(i, flag.value._tag === "None" ? i + 1 : i + 2)
        i += dropped.length - 1
        note(`${dropped.join(" ")} dropped (${flag.description}): it needs raw sockets and ${notRoot}${options.instead ?? ""}`)
      }
    }
    return { args: out, notes }
  }
}
