import type { Effect, Schema } from "effect"
import type { SpawnFailed } from "../errors.js"
import type { FlagSpec } from "../policy/flags.js"

/**
 * A tool is data: the binary, the flags a caller may pass with the type of
 * each flag's value, what the server adds itself, limits, and a parser. The
 * argument policy (`src/policy/args.ts`) and the executor read nothing else.
 */

/** A named preset of arguments, e.g. nmap's `quick`. */
export interface Template {
  readonly name: string
  readonly description: string
  readonly args: ReadonlyArray<string>
}

export interface ParsedOutput<A> {
  /** Typed result returned as MCP `structuredContent`. */
  readonly data: A
  /** Compact text summary for agents: every fact, few tokens. */
  readonly summary: string
}

export interface ToolSpec<A = unknown> {
  /** Public name: MCP tool name and REST path segment, e.g. `NmapTool`. */
  readonly name: string
  readonly title: string
  readonly description: string
  /** Binary name looked up on PATH at start-up (or an absolute path). */
  readonly binary: string
  /**
   * Checks the resolved binary each time the registry (re)locates it; a failure
   * makes the tool unavailable with its message. Custom tools refuse shells,
   * interpreters and launchers by what the file is.
   */
  readonly vetBinary?: (path: string) => Effect.Effect<void, SpawnFailed>
  /** Arguments to print the version, for the registry's availability check. */
  readonly versionArgs: ReadonlyArray<string>
  readonly flags: ReadonlyArray<FlagSpec>
  readonly templates: ReadonlyArray<Template>
  /** Arguments the server always adds before the caller's (e.g. `-oX -`, `-n`). */
  readonly fixedArgs: ReadonlyArray<string>
  /** Whether a target is required and how it is passed to the binary. */
  readonly target: {
    readonly kind: "host" | "network" | "url"
    /** Builds the target's arguments from the pinned (resolved) target. */
    readonly toArgs: (pinned: string, original: string) => ReadonlyArray<string>
    /**
     * Where the target's arguments go: after the caller's (the default), or
     * before them, for binaries where an option only applies to what follows.
     */
    readonly position?: "first" | "last"
  }
  /** Every call of this tool is intrusive (e.g. masscan, brute forcers). */
  readonly intrusive: boolean
  readonly defaultTimeoutSeconds: number
  readonly defaultConcurrency: number
  /** Exit codes that count as success besides 0 (e.g. ping's 1 = no reply). */
  readonly okExitCodes: ReadonlyArray<number>
  /** MCP annotations. */
  readonly annotations: {
    readonly readOnlyHint: boolean
    readonly destructiveHint: boolean
    readonly idempotentHint: boolean
    readonly openWorldHint: boolean
  }
  /** Schema of `ParsedOutput.data`, exported as the MCP `outputSchema`. */
  readonly outputSchema?: Schema.Schema<A, any>
  readonly parse?: (stdout: string, stderr: string) => ParsedOutput<A>
  /** Rewrites the final argument list when running without raw-socket privileges; returns notes for the result. */
  readonly unprivileged?: (args: ReadonlyArray<string>) => { readonly args: ReadonlyArray<string>; readonly notes: ReadonlyArray<string> }
  /**
   * Turns validated arguments into what the binary receives, for values the
   * server must write itself (e.g. scoped NSE categories become expressions
   * with spaces and parentheses, which callers' tokens can never contain).
   */
  readonly expand?: (args: ReadonlyArray<string>) => ReadonlyArray<string>
  /** Extracts a 0..100 progress value from a chunk of output, for progress notifications. */
  readonly progress?: (chunk: string) => number | undefined
}
