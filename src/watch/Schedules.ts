import { Clock, Context, Effect, Either, Layer, Option, ParseResult, Random, Schema } from "effect"
import { createHash } from "node:crypto"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { ScheduleSpec } from "../config/watch.js"
import { ToolExecutor } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import type { StoreUnavailable } from "../storage/errors.js"
import type { Schedule } from "../storage/ScheduleRecord.js"
import { type NewSchedule, ScheduleStore, type StoredSchedule } from "../storage/ScheduleStore.js"
import { makeUlidGenerator } from "../storage/ulid.js"
import { ScheduleConflict, ScheduleInvalid, scheduleInvalid, ScheduleNotFound, scheduleNotFound } from "./errors.js"
import { firstRun, nextAfter, parseTiming, type Timing, withJitter } from "./nextRun.js"
import { ownerOf } from "./owner.js"

/**
 * Schedules as callers manage them: created by a key with the schedule
 * scope (the runs act as that key), listed and read by their owner (all of
 * them by an admin), removed by their owner; those of the configuration
 * (`watch.schedules`) are kept in step with it and cannot be removed here.
 */

export interface SchedulesService {
  readonly create: (raw: unknown, caller: Caller) => Effect.Effect<Schedule, ScheduleInvalid | ScheduleConflict | StoreUnavailable>
  readonly list: (caller: Caller) => Effect.Effect<ReadonlyArray<Schedule>, StoreUnavailable>
  readonly get: (id: string, caller: Caller) => Effect.Effect<Schedule, ScheduleNotFound | StoreUnavailable>
  readonly remove: (id: string, caller: Caller) => Effect.Effect<Schedule, ScheduleNotFound | ScheduleConflict | StoreUnavailable>
  /** Writes `watch.schedules` into the store (at start-up and after every reload). */
  readonly syncConfigured: Effect.Effect<void, StoreUnavailable>
}

export const RECENT_RUNS = 5

export const specHash = (spec: ScheduleSpec): string =>
  createHash("sha256").update(JSON.stringify(Schema.encodeSync(ScheduleSpec)(spec))).digest("hex")

/** When a schedule runs next after `now`, its jitter drawn from Random. */
export const nextRunAt = (timing: Timing, jitterSeconds: number, now: number) =>
  Effect.map(Random.next, (fraction) => withJitter(nextAfter(timing, now), jitterSeconds, fraction))

const decodeSpec = Schema.decodeUnknownEither(ScheduleSpec, { onExcessProperty: "error", errors: "all" })

const issuesOf = (error: ParseResult.ParseError) =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)

/** Everything about a spec that can be checked before it runs: timing, tool, webhooks. */
export const checkSpec = (
  spec: ScheduleSpec,
  config: AppConfig,
  tools: ReadonlyArray<string>
): Either.Either<Timing, ReadonlyArray<string>> => {
  const issues: Array<string> = []
  const timing = parseTiming(spec, config.watch.min_interval)
  if (Either.isLeft(timing)) issues.push(timing.left)
  if (!tools.includes(spec.tool)) issues.push(`tool: no tool named ${spec.tool}; the tools are ${tools.join(", ")}`)
  const known = config.watch.webhooks.map((w) => w.name)
  for (const name of spec.webhooks) {
    if (!known.includes(name)) {
      issues.push(
        `webhooks: no webhook named ${name} in watch.webhooks${known.length === 0 ? " (none are configured)" : ` (${known.join(", ")})`}`
      )
    }
  }
  return issues.length > 0 || Either.isLeft(timing) ? Either.left(issues) : Either.right(timing.right)
}

const iso = (ms: number) => new Date(ms).toISOString()

export const mayManage = (caller: Caller, schedule: StoredSchedule): boolean =>
  caller.scopes.has("admin") || ownerOf(caller) === schedule.owner

export const configuredId = (name: string) => `config.${name}`

/** The configuration's schedules as rows; one that cannot run is logged and left out. */
const syncFrom = (
  store: ScheduleStore["Type"],
  config: ConfigService["Type"],
  toolNames: Effect.Effect<ReadonlyArray<string>>
) =>
  Effect.gen(function*() {
    const c = yield* config.get
    const tools = yield* toolNames
    const now = yield* Clock.currentTimeMillis
    const rows: Array<NewSchedule> = []
    for (const configured of c.watch.schedules) {
      const { owner, ...spec } = configured
      const checked = checkSpec(spec, c, tools)
      if (Either.isLeft(checked)) {
        yield* Effect.logError(`watch: schedule ${spec.name} of watch.schedules is not used: ${checked.left.join("; ")}`)
        continue
      }
      const fraction = yield* Random.next
      rows.push({
        id: configuredId(spec.name),
        name: spec.name,
        owner,
        source: "config",
        spec,
        specHash: specHash(spec),
        nowMs: now,
        nextRunMs: withJitter(firstRun(checked.right, now), spec.jitter, fraction)
      })
    }
    yield* store.syncConfigured(rows)
  })

export class Schedules extends Context.Tag("security-mcp/Schedules")<Schedules, SchedulesService>() {
  static readonly layer: Layer.Layer<Schedules, never, ScheduleStore | ConfigService | ToolExecutor> = Layer.effect(
    Schedules,
    Effect.gen(function*() {
      const store = yield* ScheduleStore
      const config = yield* ConfigService
      const executor = yield* ToolExecutor
      const nextId = yield* makeUlidGenerator
      const toolNames = Effect.map(executor.list, (tools) => tools.map((t) => t.name))

      const view = (s: StoredSchedule) =>
        Effect.map(store.runs(s.id, RECENT_RUNS), (runs): Schedule => ({
          schedule_id: s.id,
          ...s.spec,
          owner: s.owner,
          source: s.source,
          created_at: iso(s.createdMs),
          next_run_at: iso(s.nextRunMs),
          running: s.currentRun !== null && runs[0]?.status === "running",
          recent_runs: runs
        }))

      const visible = (id: string, caller: Caller) =>
        Effect.flatMap(
          store.get(id),
          (found) =>
            Option.isSome(found) && mayManage(caller, found.value) ? Effect.succeed(found.value) : Effect.fail(scheduleNotFound(id))
        )

      const create = (raw: unknown, caller: Caller) =>
        Effect.gen(function*() {
          const decoded = decodeSpec(raw)
          if (Either.isLeft(decoded)) return yield* scheduleInvalid(issuesOf(decoded.left))
          const spec = decoded.right
          const c = yield* config.get
          const timing = yield* Either.mapLeft(checkSpec(spec, c, yield* toolNames), scheduleInvalid)
          const owner = ownerOf(caller)
          const owned = yield* store.list(owner)
          const same = owned.find((s) => s.name === spec.name)
          if (same !== undefined) {
            return yield* new ScheduleConflict({
              schedule_id: same.id,
              message: `this key already has a schedule named ${spec.name} (${same.id}); pick another name or delete that one`
            })
          }
          if (owned.length >= c.watch.max_schedules_per_owner) {
            return yield* scheduleInvalid([`this key has ${owned.length} schedules, the most watch.max_schedules_per_owner allows`])
          }
          const now = yield* Clock.currentTimeMillis
          const fraction = yield* Random.next
          const row: NewSchedule = {
            id: yield* nextId,
            name: spec.name,
            owner,
            source: "api",
            spec,
            specHash: specHash(spec),
            nowMs: now,
            nextRunMs: withJitter(firstRun(timing, now), spec.jitter, fraction)
          }
          yield* store.insert(row)
          return yield* Effect.flatMap(visible(row.id, caller), view).pipe(Effect.catchTag("ScheduleNotFound", Effect.die))
        })

      const remove = (id: string, caller: Caller) =>
        Effect.gen(function*() {
          const found = yield* visible(id, caller)
          if (found.source === "config") {
            return yield* new ScheduleConflict({
              schedule_id: id,
              message: `schedule ${id} comes from the configuration (watch.schedules); remove it there`
            })
          }
          const shown = yield* view(found)
          if (!(yield* store.remove(id))) return yield* scheduleNotFound(id)
          return shown
        })

      const syncConfigured = syncFrom(store, config, toolNames)

      return {
        create,
        list: (caller) =>
          Effect.flatMap(store.list(caller.scopes.has("admin") ? undefined : ownerOf(caller)), (all) => Effect.forEach(all, view)),
        get: (id, caller) => Effect.flatMap(visible(id, caller), view),
        remove,
        syncConfigured
      } satisfies SchedulesService
    })
  )
}
