import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { OPERATOR_SWITCHES, xactLock } from "./advisoryLocks.js"
import { Database } from "./Database.js"
import type { StoreUnavailable } from "./errors.js"

/**
 * Operator decisions about tools that must outlive a restart: a tool switched
 * off (or on against the config) and a circuit breaker held open. With
 * PostgreSQL every instance sharing the database sees the same switches.
 * When storage is disabled nothing persists, as before the store existed.
 */

export const ToolSwitch = Schema.Struct({
  tool: Schema.String,
  enabled: Schema.NullOr(Schema.Boolean).annotations({
    description: "Operator override of the tool's enabled state; null follows the configuration"
  }),
  circuit: Schema.NullOr(Schema.Literal("open")).annotations({
    description: "open: the breaker is held open by an operator until closed; null: the breaker works on its own"
  }),
  updated_at: Schema.String.annotations({ jsonSchema: { type: "string", format: "date-time" } }),
  updated_by: Schema.String.annotations({ description: "The API key id (or stdio) that made the change" })
})
export type ToolSwitch = typeof ToolSwitch.Type

export interface SwitchChange {
  readonly enabled?: boolean | null
  readonly circuit?: "open" | null
}

export interface OperatorStateService {
  /** Every tool with an operator override, to apply at start-up. */
  readonly list: Effect.Effect<ReadonlyArray<ToolSwitch>, StoreUnavailable>
  /** Records a change (fields left out keep their value); a switch with no override left is removed. */
  readonly set: (tool: string, change: SwitchChange, by: string) => Effect.Effect<void, StoreUnavailable>
}

const SwitchRow = Schema.Struct({
  tool: Schema.String,
  enabled: Schema.NullOr(Schema.Union(Schema.Number, Schema.NumberFromString)),
  circuit: Schema.NullOr(Schema.Literal("open")),
  updated_ms: Schema.Union(Schema.Number, Schema.NumberFromString),
  updated_by: Schema.String
})

const toSwitch = (row: typeof SwitchRow.Type): ToolSwitch => ({
  tool: row.tool,
  enabled: row.enabled === null ? null : row.enabled !== 0,
  circuit: row.circuit,
  updated_at: new Date(row.updated_ms).toISOString(),
  updated_by: row.updated_by
})

const selectAll = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql`SELECT tool, enabled, circuit, updated_ms, updated_by FROM operator_switches ORDER BY tool`
  return yield* Effect.forEach(rows, (row) => Effect.map(Schema.decodeUnknown(SwitchRow)(row), toSwitch))
})

const write = (tool: string, change: SwitchChange, by: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const now = yield* Clock.currentTimeMillis
    // Two changes of one tool's switches at once (its enabled state and its breaker) keep both.
    yield* xactLock(OPERATOR_SWITCHES, tool)
    const rows = yield* sql`SELECT tool, enabled, circuit, updated_ms, updated_by FROM operator_switches WHERE tool = ${tool}`
    const current = rows[0] === undefined ? undefined : toSwitch(yield* Schema.decodeUnknown(SwitchRow)(rows[0]))
    const enabled = change.enabled === undefined ? current?.enabled ?? null : change.enabled
    const circuit = change.circuit === undefined ? current?.circuit ?? null : change.circuit
    if (enabled === null && circuit === null) {
      yield* sql`DELETE FROM operator_switches WHERE tool = ${tool}`
      return
    }
    const row = { tool, enabled: enabled === null ? null : enabled ? 1 : 0, circuit, updated_ms: now, updated_by: by }
    yield* sql`INSERT INTO operator_switches ${sql.insert(row)} ON CONFLICT (tool) DO UPDATE SET
      enabled = excluded.enabled, circuit = excluded.circuit, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by`
  }).pipe((effect) => Effect.flatMap(SqlClient.SqlClient, (sql) => sql.withTransaction(effect)))

export class OperatorState extends Context.Tag("security-mcp/OperatorState")<OperatorState, OperatorStateService>() {
  static readonly layer: Layer.Layer<OperatorState, never, Database> = Layer.effect(
    OperatorState,
    Effect.map(Database, (db): OperatorStateService =>
      db.enabled
        ? { list: db.use("operator_state", selectAll), set: (tool, change, by) => db.use("operator_state", write(tool, change, by)) }
        : { list: Effect.succeed([]), set: () => Effect.void })
  )
}
