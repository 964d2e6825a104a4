import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { LOCK_CLASS } from "./instances.js"

/**
 * Transaction advisory locks that make a read-then-write of one key take
 * turns across instances on PostgreSQL (under READ COMMITTED two such
 * transactions would both read the old state). SQLite needs none: its
 * client runs one transaction at a time. The object is a hash of the key;
 * a collision only makes two keys take turns.
 */
export const STANDING_REQUESTS = LOCK_CLASS + 1
export const OPERATOR_SWITCHES = LOCK_CLASS + 2
/** An owner's schedules: the name and quota checks of a new one, and its insert. */
export const SCHEDULE_OWNERS = LOCK_CLASS + 3
/** The configuration's schedules, synchronised by every instance at start-up and on reloads. */
export const CONFIG_SCHEDULES = LOCK_CLASS + 4

/** Held until the surrounding transaction ends. */
export const xactLock = (lockClass: number, key: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql.onDialectOrElse({
      pg: () => Effect.asVoid(sql`SELECT pg_advisory_xact_lock(${lockClass}, hashtext(${key}))`),
      orElse: () => Effect.void
    }))
