import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { ScheduleSpec } from "../../src/config/watch.js"
import type { Caller } from "../../src/identity/Caller.js"
import { Engagement } from "../../src/policy/Engagement.js"
import { Approvals } from "../../src/storage/Approvals.js"
import { Database } from "../../src/storage/Database.js"
import type { StoredSchedule } from "../../src/storage/ScheduleStore.js"
import { standingVerdict } from "../../src/watch/standing.js"
import { approvalsLayer, testConfig, testDatabases } from "../storage/support.js"
import { tempDir } from "../support/shims.js"

/**
 * The verdict of a run whose schedule had no standing approval when it
 * looked, while another instance (asking ahead at the schedule's creation)
 * stored one in between: the run is skipped as pending under that request,
 * and the queue holds one.
 */

const sqlite = testDatabases.find((db) => db.name === "sqlite")!

const owner: Caller = { id: "owner", transport: "http", scopes: new Set(["execute", "schedule"]), engagements: ["lab"] }
const approver: Caller = { id: "approver", transport: "http", scopes: new Set(["approve"]), engagements: ["lab"] }

const spec = Schema.decodeUnknownSync(ScheduleSpec)({
  name: "lab-ports",
  tool: "NmapTool",
  target: "127.0.0.1",
  engagement: "lab",
  args: ["-n", "-sT", "-p", "80"],
  interval: 3600
})

const schedule: StoredSchedule = {
  id: "01M8SCHEDULE000000000000009",
  name: spec.name,
  owner: owner.id,
  source: "api",
  spec,
  specHash: "0".repeat(64),
  createdMs: 0,
  updatedMs: 0,
  nextRunMs: 0,
  leaseInstance: null,
  leaseExpiresMs: null,
  currentRun: null,
  lastScanId: null
}

const need = {
  engagement: Schema.decodeUnknownSync(Engagement)({ name: "lab", targets: ["127.0.0.1"], approval: "all" }),
  intrusive: false,
  intrusiveReasons: [],
  argv: [...spec.args, spec.target],
  command: ["nmap", "-oX", "-", ...spec.args],
  timeoutSeconds: 300
}

describe("a run's standing verdict when another instance asked first", () => {
  it.scoped("is the other request's: pending, then approved, and the queue holds one", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir("standing")
      const config = yield* testConfig(yield* sqlite.make, { security: { audit_log_path: `${dir}/audit.jsonl` } })
      const context = yield* Layer.build(approvalsLayer(config.layer))
      yield* Context.get(context, Database).ready
      const approvals = Context.get(context, Approvals)
      // What this instance read before the other's request was committed.
      const lookedTooEarly = { ...approvals, standingFor: () => Effect.succeed(Option.none()) }

      const first = yield* standingVerdict(approvals, schedule, need, owner)
      expect(first).toMatchObject({ _tag: "skip", reason: expect.stringContaining("requested") })
      const [request] = yield* approvals.list(approver, "pending", "standing")
      const id = request!.approval_id
      expect(yield* standingVerdict(lookedTooEarly, schedule, need, owner)).toEqual({
        _tag: "skip",
        reason: expect.stringContaining(`standing approval ${id} is pending until`)
      })
      yield* approvals.decide(id, "approved", approver, "lab ports")
      expect(yield* standingVerdict(lookedTooEarly, schedule, need, owner)).toMatchObject({ _tag: "run", ref: { approvalId: id } })
      expect(yield* approvals.list(approver, undefined, "standing")).toHaveLength(1)
    }))
})
