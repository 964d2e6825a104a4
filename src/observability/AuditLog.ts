import { Clock, Context, Effect, Layer, Ref, Schema } from "effect"
import { mkdir, open } from "node:fs/promises"
import type { FileHandle } from "node:fs/promises"
import { dirname } from "node:path"
import { ConfigService } from "../config/ConfigService.js"
import { ExecutionOutcome } from "../ExecutionOutcome.js"
import type { Caller } from "../identity/Caller.js"

/**
 * One execution attempt, allowed or not. There is deliberately no field for
 * credentials or request headers: the caller is identified by its key id.
 */
export interface AuditEntry {
  readonly caller: Pick<Caller, "id" | "transport" | "address">
  readonly tool: string
  readonly target: string
  /** The address actually scanned, when the target was resolved. */
  readonly resolvedTarget: string | null
  /** The command line exactly as executed (binary first); empty when rejected before building it. */
  readonly argv: ReadonlyArray<string>
  readonly decision: AuditLine["decision"]
  readonly outcome: ExecutionOutcome
  readonly durationSeconds: number
  readonly intrusive: boolean
  readonly correlationId: string
  readonly error: { readonly tag: string; readonly message: string } | null
}

const credential = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi

/** Defence in depth: a token pasted into a target, argument or error message must not land in the log. */
export const redact = (text: string): string => text.replace(credential, "$1 [REDACTED]")

const nullable = (description: string) => Schema.NullOr(Schema.String).annotations({ description })

/** One line of the audit log (JSON Lines), as operators and log shippers read it. */
export const AuditLine = Schema.Struct({
  timestamp: Schema.String.annotations({ description: "When the attempt was recorded (ISO 8601)" }),
  caller_id: Schema.String.annotations({ description: "The caller's key id (never the key)" }),
  caller_transport: Schema.String,
  caller_address: nullable("The client's address, over HTTP"),
  tool: Schema.String,
  target: Schema.String.annotations({ description: "The target as the caller wrote it" }),
  resolved_target: nullable("The address actually scanned, when the target was resolved"),
  argv: Schema.Array(Schema.String).annotations({ description: "The command line exactly as executed; empty when none ran" }),
  decision: Schema.Union(Schema.Literal("allowed"), Schema.TemplateLiteral("rejected:", Schema.String)),
  outcome: ExecutionOutcome,
  duration_seconds: Schema.Number,
  intrusive: Schema.Boolean,
  correlation_id: Schema.String,
  error_tag: nullable("The error's _tag"),
  error_message: Schema.NullOr(Schema.String)
})
export type AuditLine = typeof AuditLine.Type

const lineJson = Schema.encodeSync(Schema.parseJson(AuditLine))

/** The JSON line for an entry, newline included. */
export const auditLine = (entry: AuditEntry, timestamp: string): string =>
  redact(lineJson({
    timestamp,
    caller_id: entry.caller.id,
    caller_transport: entry.caller.transport,
    caller_address: entry.caller.address ?? null,
    tool: entry.tool,
    target: entry.target,
    resolved_target: entry.resolvedTarget,
    argv: entry.argv,
    decision: entry.decision,
    outcome: entry.outcome,
    duration_seconds: entry.durationSeconds,
    intrusive: entry.intrusive,
    correlation_id: entry.correlationId,
    error_tag: entry.error?.tag ?? null,
    error_message: entry.error?.message ?? null
  })) + "\n"

export class AuditLog extends Context.Tag("security-mcp/AuditLog")<
  AuditLog,
  { readonly record: (entry: AuditEntry) => Effect.Effect<void> }
>() {
  /**
   * Appends to `security.audit_log_path`, read on every record so a reload
   * moves the log at the next entry. Writes are serialized so lines never
   * interleave; intrusive entries are fsync'ed before `record` returns. An
   * empty path, or a write that fails, sends the line to the application log
   * instead, so an attempt is never silently unaudited.
   */
  static readonly layer = Layer.scoped(
    AuditLog,
    Effect.gen(function*() {
      const config = yield* ConfigService
      const current = yield* Ref.make<{ readonly path: string; readonly handle: FileHandle } | null>(null)
      const lock = yield* Effect.makeSemaphore(1)

      const close = Effect.flatMap(
        Ref.getAndSet(current, null),
        (file) => file === null ? Effect.void : Effect.promise(() => file.handle.close().catch(() => undefined))
      )
      yield* Effect.addFinalizer(() => close)

      const handleFor = (path: string) =>
        Effect.flatMap(Ref.get(current), (file) =>
          file !== null && file.path === path
            ? Effect.succeed(file.handle)
            : Effect.zipRight(
              close,
              Effect.tryPromise(async () => {
                await mkdir(dirname(path), { recursive: true })
                return open(path, "a", 0o600)
              }).pipe(Effect.tap((handle) => Ref.set(current, { path, handle })))
            ))

      const logOnly = (line: string) => Effect.logInfo(line.trimEnd()).pipe(Effect.annotateLogs("audit", true))

      const write = (path: string, line: string, durable: boolean) =>
        handleFor(path).pipe(
          Effect.flatMap((handle) =>
            Effect.tryPromise(async () => {
              await handle.write(line)
              if (durable) await handle.sync()
            })
          ),
          Effect.catchAll((error) =>
            Effect.logError(`audit log write to ${path} failed: ${String(error.error)}`).pipe(
              Effect.zipRight(close),
              Effect.zipRight(logOnly(line))
            )
          )
        )

      return {
        record: (entry) =>
          Effect.gen(function*() {
            const line = auditLine(entry, new Date(yield* Clock.currentTimeMillis).toISOString())
            const path = (yield* config.get).security.audit_log_path
            yield* path === "" ? logOnly(line) : write(path, line, entry.intrusive)
          }).pipe(lock.withPermits(1), Effect.uninterruptible)
      }
    })
  )
}
