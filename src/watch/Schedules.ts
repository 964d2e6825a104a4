import { Clock, Context, Effect, Either, Layer, Option, ParseResult, Random, Schema } from "effect"
import { createHash } from "node:crypto"
import { ConfigService } from "../config/ConfigService.js"
import type { AppConfig } from "../config/schema.js"
import { ScheduleSpec } from "../config/watch.js"
import { type AuditUnavailable, Forbidden } from "../errors.js"
import { ToolExecutor } from "../execution/ToolExecutor.js"
import type { Caller } from "../identity/Caller.js"
import { AuditLog } from "../observability/AuditLog.js"
import { Approvals } from "../storage/Approvals.js"
import type { StoreUnavailable } from "../storage/errors.js"
import type { Schedule } from "../storage/ScheduleRecord.js"
import { type NewSchedule, ScheduleStore, type StoredSchedule } from "../storage/ScheduleStore.js"
import { makeUlidGenerator } from "../storage/ulid.js"
import { ToolRegistry } from "../tools/ToolRegistry.js"
import { ScheduleConflict, ScheduleInvalid, scheduleInvalid, ScheduleNotFound, scheduleNotFound } from "./errors.js"
import { firstRun, nextAfter, parseTiming, type Timing, withJitter } from "./nextRun.js"
import { ownerOf } from "./owner.js"
import { askAhead } from "./standing.js"

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
  /** Enables or disables an API schedule (its owner or an admin), audited; enabling runs an interval schedule at once, or once its interval since its last run is up. */
  readonly setEnabled: (
    id: string,
    enabled: boolean,
    caller: Caller
  ) => Effect.Effect<Schedule, ScheduleNotFound | ScheduleConflict | Forbidden | StoreUnavailable | AuditUnavailable>
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
    for (const taken of yield* store.syncConfigured(rows)) {
      yield* Effect.logError(
        `watch: schedule ${taken.name} of watch.schedules is not used: its owner ${taken.owner} has a schedule of that name ` +
          `made through the API (${taken.scheduleId}); rename one of them`
      )
    }
  })

/** Asks for a schedule's standing approval ahead of its runs (see `askAhead`). */
const makeAsk = (config: ConfigService["Type"]) =>
  Effect.gen(function*() {
    // Absent where schedules are served without an executor's registry (tests of the routes): the first run asks.
    const approvals = yield* Effect.serviceOption(Approvals)
    const registry = yield* Effect.serviceOption(ToolRegistry)
    return (s: StoredSchedule) =>
      Option.isSome(approvals) && Option.isSome(registry)
        ? Effect.flatMap(config.get, (c) => askAhead(approvals.value, registry.value, s, c))
        : Effect.void
  })

/** A stored schedule as callers see it, with its recent runs. */
const viewOf = (store: ScheduleStore["Type"]) => (s: StoredSchedule) =>
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

/** Runs looked at for the last one that ran: skipped ones in between do not push it out. */
const RAN_WINDOW = 20

/**
 * The first run after the schedule is enabled: an interval schedule runs at
 * once, but never sooner than its interval after its last run that ran, so
 * switching it off and on is no way to run it (under its standing approval,
 * say) more often than its cadence.
 */
const enabledRun = (store: ScheduleStore["Type"], id: string, timing: Timing, now: number) =>
  timing._tag === "cron" ? Effect.succeed(firstRun(timing, now)) : Effect.map(store.runs(id, RAN_WINDOW), (runs) => {
    const ran = runs.find((run) => run.status !== "skipped")
    return ran === undefined ? now : Math.max(now, Date.parse(ran.started_at) + timing.seconds * 1000)
  })

/** The switch and its audit line; the line is written first, so a switch that cannot be audited is not made. */
const makeSetEnabled = (p: {
  readonly store: ScheduleStore["Type"]
  readonly config: ConfigService["Type"]
  readonly audit: AuditLog["Type"]
  readonly visible: (id: string, caller: Caller) => Effect.Effect<StoredSchedule, ScheduleNotFound | StoreUnavailable>
  readonly view: (s: StoredSchedule) => Effect.Effect<Schedule, StoreUnavailable>
}) =>
(id: string, enabled: boolean, caller: Caller) =>
  Effect.gen(function*() {
    const found = yield* p.visible(id, caller)
    // As creating and removing one: a key whose schedule scope was taken away must not switch its schedules back on.
    if (!caller.scopes.has("admin") && !caller.scopes.has("schedule")) {
      return yield* new Forbidden({ message: `${caller.id} lacks the schedule scope, so it cannot switch schedules on or off` })
    }
    if (found.source === "config") {
      return yield* new ScheduleConflict({
        schedule_id: id,
        message: `schedule ${id} comes from the configuration (watch.schedules); set enabled there`
      })
    }
    const c = yield* p.config.get
    const now = yield* Clock.currentTimeMillis
    const timing = parseTiming(found.spec, c.watch.min_interval)
    const next = Either.isRight(timing)
      ? withJitter(yield* enabledRun(p.store, id, timing.right, now), found.spec.jitter, yield* Random.next)
      : now
    yield* p.audit.write({
      caller,
      tool: found.spec.tool,
      target: found.spec.target,
      resolvedTarget: null,
      argv: [],
      decision: enabled ? "schedule:enabled" : "schedule:disabled",
      outcome: enabled ? "enabled" : "disabled",
      durationSeconds: 0,
      intrusive: false,
      correlationId: `schedule.${id}`,
      error: null
    })
    if (!(yield* p.store.setEnabled(id, enabled, now, next))) return yield* scheduleNotFound(id)
    return yield* Effect.flatMap(p.visible(id, caller), p.view)
  })

export class Schedules extends Context.Tag("security-mcp/Schedules")<Schedules, SchedulesService>() {
  static readonly layer: Layer.Layer<Schedules, never, ScheduleStore | ConfigService | ToolExecutor | AuditLog> = Layer.effect(
    Schedules,
    Effect.gen(function*() {
      const store = yield* ScheduleStore
      const config = yield* ConfigService
      const executor = yield* ToolExecutor
      const nextId = yield* makeUlidGenerator
      const audit = yield* AuditLog
      const ask = yield* makeAsk(config)
      const toolNames = Effect.map(executor.list, (tools) => tools.map((t) => t.name))

      const view = viewOf(store)

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
          const inserted = yield* store.insert(row, c.watch.max_schedules_per_owner)
          if (inserted._tag === "NameTaken") {
            return yield* new ScheduleConflict({
              schedule_id: inserted.scheduleId,
              message: `this key already has a schedule named ${spec.name} (${inserted.scheduleId}); pick another name or delete that one`
            })
          }
          if (inserted._tag === "Full") {
            return yield* scheduleInvalid([`this key has ${inserted.owned} schedules, the most watch.max_schedules_per_owner allows`])
          }
          const stored = yield* visible(row.id, caller).pipe(Effect.catchTag("ScheduleNotFound", Effect.die))
          yield* ask(stored)
          return yield* view(stored)
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
      const setEnabled = (id: string, enabled: boolean, caller: Caller) =>
        makeSetEnabled({ store, config, audit, visible, view })(id, enabled, caller).pipe(
          Effect.tap((s) => (enabled ? Effect.flatMap(visible(s.schedule_id, caller), ask) : Effect.void))
        )

      return {
        create,
        list: (caller) =>
          Effect.flatMap(store.list(caller.scopes.has("admin") ? undefined : ownerOf(caller)), (all) => Effect.forEach(all, view)),
        get: (id, caller) => Effect.flatMap(visible(id, caller), view),
        remove,
        setEnabled,
        syncConfigured
      } satisfies SchedulesService
    })
  )
}
