import * as Migrator from "@effect/sql/Migrator"
import scans from "./0001_scans.js"
import operatorSwitches from "./0002_operator_switches.js"
import approvals from "./0003_approvals.js"
import schedules from "./0004_schedules.js"
import standingApprovals from "./0005_standing_approvals.js"
import blobCodec from "./0006_blob_codec.js"
import instanceServer from "./0007_instance_server.js"

/**
 * Every migration, keyed `<id>_<name>`, applied in id order by `@effect/sql`'s
 * Migrator on SQLite and PostgreSQL alike. A migration never changes once
 * released: a later feature adds a file and a line here.
 */
export const migrations = Migrator.fromRecord({
  "0001_scans": scans,
  "0002_operator_switches": operatorSwitches,
  "0003_approvals": approvals,
  "0004_schedules": schedules,
  "0005_standing_approvals": standingApprovals,
  "0006_blob_codec": blobCodec,
  "0007_instance_server": instanceServer
})

export const MIGRATIONS_TABLE = "schema_migrations"
