import { Either, type Schema } from "effect"
import { InvalidInput } from "../errors.js"
import type { FlagSpec } from "../policy/flags.js"
import { urlTargetHost } from "./urlTarget.js"

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

/** One progress report of a tool: its percentage of the current phase, and what it says about the phase. */
export interface ToolProgress {
  /** 0..100 within the current phase; phases restart at 0. */
  readonly percent: number
  /** The tool's name for the phase, e.g. nmap's "Service scan". */
  readonly task?: string
  /** The tool's estimate of the seconds the phase still needs. */
  readonly remainingSeconds?: number
}

export interface ParsedOutput<A> {
  /** Typed result returned as MCP `structuredContent`. */
  readonly data: A
  /** Compact text summary for agents: every fact, few tokens. */
  readonly summary: string
}

/** What a tool takes as its target and how the target is passed to the binary. */
export interface ToolTarget {
  /**
   * `host`: one address or name; `network`: a CIDR as well; `url`: a host
   * with an optional scheme, port and path (see urlTarget.ts).
   */
  readonly kind: "host" | "network" | "url"
  /** Builds the target's arguments from the pinned (resolved) target. */
  readonly toArgs: (pinned: string, original: string) => ReadonlyArray<string>
  /**
   * Where the target's arguments go: after the caller's (the default), or
   * before them, for binaries where an option only applies to what follows.
   */
  readonly position?: "first" | "last"
}

/**
 * The part of a caller's target that the target policy validates and pins:
 * the host of a URL target (its scheme, port and path are the tool's
 * business), the whole target otherwise.
 */
export const policyHost = (target: ToolTarget, original: string): Either.Either<string, InvalidInput> => {
  if (target.kind !== "url") return Either.right(original)
  const host = urlTargetHost(original)
  return host === undefined
    ? Either.left(new InvalidInput({ message: `${original} is not a valid http(s) URL or host[:port]`, issues: ["target"] }))
    : Either.right(host)
}

export interface ToolSpec<A = unknown> {
  /** Public name: MCP tool name and REST path segment, e.g. `NmapTool`. */
  readonly name: string
  readonly title: string
  readonly description: string
  /** Binary name looked up on PATH at start-up (or an absolute path). */
  readonly binary: string
  /** Arguments to print the version, for the registry's availability check. */
  readonly versionArgs: ReadonlyArray<string>
  readonly flags: ReadonlyArray<FlagSpec>
  /** The flags agents most often need, named first in the tool's one-line summary (the rest follow as room allows). */
  readonly keyFlags?: ReadonlyArray<string>
  readonly templates: ReadonlyArray<Template>
  /** Arguments the server always adds before the caller's (e.g. `-oX -`, `-n`). */
  readonly fixedArgs: ReadonlyArray<string>
  readonly target: ToolTarget
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
  /** Extracts the latest progress report from a chunk of output, for progress notifications. */
  readonly progress?: (chunk: string) => ToolProgress | undefined
}
