import { Clock, Effect } from "effect"
import type { ParseStatus } from "../storage/ScanRecord.js"
import { textPieces } from "../textPieces.js"
import type { ParsedOutput, ResultLimits, StreamEnd, StreamParser, StreamProgress, ToolSpec } from "../tools/ToolSpec.js"
import type { OutputObserver } from "./progress.js"

/**
 * A run's output as it arrives: the tool's stream parser is fed every
 * stdout chunk (the runner hands each one over, also past the inline cap
 * `security.max_output_size`, which bounds only the text returned inline), so
 * the structured result is complete up to `results.max_hosts`/`max_bytes`
 * whatever the output's size. The raw text is kept as well, for the store
 * and for a run that ends without a process result (cancelled, shut down). A parser that throws costs the
 * structured result, never the call.
 */
export interface RunOutput {
  readonly observer: OutputObserver
  /** What the parser has counted so far; undefined for a tool without a stream parser. */
  readonly progress: () => StreamProgress | undefined
  /** The raw text read so far, and whether some was not kept. */
  readonly raw: () => { readonly stdout: string; readonly stderr: string; readonly truncated: boolean }
  /** Ends the parse (once): the structured result and summary, undefined when the tool has no parser or it failed. */
  readonly finish: (end: StreamEnd & { readonly stdout: string }) => Effect.Effect<ParsedOutput<unknown> | undefined>
}

/** A keeper of text up to `max` characters, in pieces (a pipe hands over thousands of small chunks, kept until the call ends). */
const keeper = (max: number) => {
  const kept = textPieces("")
  let size = 0
  let cut = false
  return {
    add: (chunk: string) => {
      if (size >= max) return void (cut = true)
      const part = chunk.length > max - size ? chunk.slice(0, max - size) : chunk
      cut ||= part.length < chunk.length
      kept.add(part)
      size += part.length
    },
    text: kept.text,
    cut: () => cut
  }
}

/** The whole output at once, for a tool with `parse` but no stream parser. */
const parseAtOnce = (spec: ToolSpec<any>, stdout: string, stderr: string) => {
  const parse = spec.parse
  if (parse === undefined || stdout.length === 0) return Effect.succeed(undefined)
  return Effect.try(() => parse(stdout, stderr) as ParsedOutput<unknown>).pipe(
    Effect.tapError((e) => Effect.logWarning(`parser of ${spec.name} failed`, e)),
    Effect.orElseSucceed(() => undefined)
  )
}

/**
 * `caps` are the runner's inline caps: a tool without a stream parser keeps no
 * more raw text than the runner does (its output is nobody's facts), one with
 * a parser keeps what it parses.
 */
export const makeRunOutput = (
  spec: ToolSpec<any>,
  limits: ResultLimits,
  caps: { readonly maxStdoutBytes: number; readonly maxStderrBytes: number }
): RunOutput => {
  let parser: StreamParser<unknown> | undefined = spec.stream?.(limits)
  let finished = false
  let fed = false
  const stdout = keeper(spec.stream === undefined ? caps.maxStdoutBytes : Math.max(limits.maxBytes, caps.maxStdoutBytes))
  const stderr = keeper(caps.maxStderrBytes)
  const broken = (e: unknown) => {
    parser = undefined
    return Effect.logWarning(`stream parser of ${spec.name} failed; the call has no structured result`, e)
  }
  const feed = (chunk: string) => {
    if (parser === undefined || finished) return Effect.void
    try {
      parser.feed(chunk)
      return Effect.void
    } catch (e) {
      return broken(e)
    }
  }
  const observer: OutputObserver = (stream, chunk) => {
    if (stream === "stderr") return Effect.sync(() => stderr.add(chunk))
    stdout.add(chunk)
    fed = true
    return feed(chunk)
  }
  const withStream = spec.stream !== undefined
  return {
    observer,
    progress: () => (parser === undefined ? undefined : parser.progress()),
    raw: () => ({ stdout: stdout.text(), stderr: stderr.text(), truncated: stdout.cut() }),
    finish: (end) =>
      Effect.suspend(() => {
        if (finished) return Effect.succeed(undefined)
        if (!withStream) {
          finished = true
          return parseAtOnce(spec, end.stdout, end.stderr ?? "")
        }
        // A runner that handed over no chunks (none does today) still gets its output parsed.
        const late = !fed && end.stdout !== "" ? feed(end.stdout) : Effect.void
        return Effect.flatMap(late, () => {
          finished = true
          const p = parser
          if (p === undefined) return Effect.succeed(undefined)
          return Effect.try(() => p.finish(end)).pipe(Effect.catchAll((e) => Effect.as(broken(e), undefined)))
        })
      })
  }
}

/** What the store says about the structured result. */
export const parseStatus = (spec: ToolSpec<any>, parsed: ParsedOutput<unknown> | undefined, partial: boolean): ParseStatus => {
  if (spec.stream === undefined && spec.parse === undefined) return "none"
  if (parsed === undefined) return partial ? "partial" : "failed"
  const data = parsed.data as { readonly complete?: unknown; readonly partial?: unknown } | null
  const cut = typeof data === "object" && data !== null && (data.partial === true || data.complete === false)
  return partial || cut ? "partial" : "complete"
}

/** What found-so-far reports compare: the hosts and ports found (the tool's percentage goes out as its own progress). */
export const foundKey = (p: StreamProgress): string | undefined =>
  p.hostsUp === 0 && p.openPorts === 0 ? undefined : `${p.hostsUp}/${p.openPorts}`

/** Everything a watcher of the stored scan may want to see change. */
export const progressKey = (p: StreamProgress): string => `${p.hostsSeen}/${p.hostsUp}/${p.openPorts}/${p.percent ?? ""}`

/**
 * An observer that reports what the parser has counted whenever `keyOf`
 * changed (undefined: nothing worth reporting yet), at most once per
 * `intervalMillis`; the end is reported by the result itself.
 */
export const foundReporter = (
  output: RunOutput,
  keyOf: (progress: StreamProgress) => string | undefined,
  report: (progress: StreamProgress) => Effect.Effect<void>,
  intervalMillis = 1000
): OutputObserver => {
  let last = ""
  let sentAt = Number.NEGATIVE_INFINITY
  return (stream) =>
    stream === "stderr" ? Effect.void : Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const progress = output.progress()
      if (progress === undefined || now - sentAt < intervalMillis) return Effect.void
      const key = keyOf(progress)
      if (key === undefined || key === last) return Effect.void
      last = key
      sentAt = now
      return report(progress)
    })
}
