import { type Effect, Either, type Schema } from "effect"
import type { SpawnFailed, TargetRejected } from "../errors.js"
import type { FlagSpec } from "../policy/flags.js"
import { canonicalUrlTarget, checkUrlTarget } from "./urlTarget.js"

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
export const policyHost = (target: ToolTarget, original: string): Either.Either<string, TargetRejected> =>
  target.kind === "url" ? Either.map(checkUrlTarget(original), (url) => url.host) : Either.right(original)

/** The target as the audit log names it: a URL target in its canonical form, any other as written. */
export const auditedTarget = (target: ToolTarget, original: string): string =>
  target.kind === "url" ? Either.match(checkUrlTarget(original), { onLeft: () => original, onRight: canonicalUrlTarget }) : original

/** Bounds of one structured result and its summary (config section `results`). */
export interface ResultLimits {
  /** Hosts kept; later hosts are counted as dropped. */
  readonly maxHosts: number
  /** Bytes of facts kept, and the most one element of the output may hold while it is read. */
  readonly maxBytes: number
  /** Upper bound of the summary text, in tokens. */
  readonly summaryTokens: number
}

/** What the summary may say besides the facts: its budget, and where the whole result can be read. */
export interface SummaryOptions {
  readonly tokens: number
  /** Resource naming the stored result, e.g. `scan://01J…`; the summary points to it for what it leaves out. */
  readonly resource?: string
}

/** Facts counted so far while the tool runs, for progress notifications. */
export interface StreamProgress {
  /** Hosts whose report was read completely. */
  readonly hostsSeen: number
  readonly hostsUp: number
  readonly openPorts: number
  /** The tool's own completion estimate, 0..100, when it reports one. */
  readonly percent?: number
}

export interface StreamEnd {
  /** The run ended before the tool finished (timeout, cancellation, shutdown, a killed process). */
  readonly partial: boolean
  readonly reason?: string
  /** The tool's stderr as kept by the runner (warnings belong in the result). */
  readonly stderr?: string
  /** Resource naming the stored result, for the summary. */
  readonly resource?: string
}

/**
 * Reads a tool's stdout chunk by chunk while it runs, in memory bounded by
 * `ResultLimits`. Nothing here throws: malformed output becomes warnings in
 * the result, and whatever was read is returned by `finish`.
 */
export interface StreamParser<A> {
  readonly feed: (chunk: string) => void
  readonly progress: () => StreamProgress
  /** Called once; the parser must not be fed afterwards. */
  readonly finish: (end: StreamEnd) => ParsedOutput<A>
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
  /** The whole output at once: the stream parser with default limits, fed once. */
  readonly parse?: (stdout: string, stderr: string) => ParsedOutput<A>
  /** A fresh parser of one run's stdout, fed as the output arrives. */
  readonly stream?: (limits: ResultLimits) => StreamParser<A>
  /** The bounded summary of a result, e.g. again once its stored resource is known. */
  readonly summarize?: (data: A, options: SummaryOptions) => string
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
