import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { join } from "node:path"
import type { Caller } from "../../src/identity/Caller.js"
import { Approvals } from "../../src/storage/Approvals.js"
import { Database } from "../../src/storage/Database.js"
import type { Viewer } from "../../src/storage/ScanRecord.js"
import { ScanStore } from "../../src/storage/ScanStore.js"
import { approvalsLayer, testConfig, testDatabases } from "../storage/support.js"
import { tempDir } from "../support/shims.js"

/**
 * Caller text in store lookups (list filters, a history target, an approval
 * id) that no stored value can hold, NUL above all: PostgreSQL refuses it
 * in a text parameter, so passed on it turned a caller's request into a
 * store failure (503, an error logged and counted, health degraded). It is
 * the caller's mistake: a 400, or simply not found.
 */

const viewer: Viewer = { callerId: "key-a", admin: false }
const caller: Caller = { id: "key-a", transport: "http", scopes: new Set(["approve"]), engagements: ["lab"] }

const NUL = "127.0.0.1\u0000"

for (const { make, name } of testDatabases) {
  describe(`store lookups with NUL on ${name}`, () => {
    it.scoped("are refused or not found, and never count as store failures", () =>
      Effect.gen(function*() {
        const dir = yield* tempDir("storage-attack")
        const config = yield* testConfig(yield* make, { security: { audit_log_path: join(dir, "audit.jsonl") } })
        const layer = approvalsLayer(config.layer)
        const context = yield* Layer.build(layer)
        const database = Context.get(context, Database)
        yield* database.ready
        const store = Context.get(context, ScanStore)
        const approvals = Context.get(context, Approvals)
        for (const query of [{ target: NUL }, { tool: "NmapTool\u0000" }, { caller: "\u0000" }]) {
          const error = yield* Effect.flip(store.list(query, viewer))
          expect(error._tag, JSON.stringify(query)).toBe("InvalidInput")
        }
        expect((yield* Effect.flip(store.history(NUL, viewer)))._tag).toBe("InvalidInput")
        expect((yield* Effect.flip(approvals.get("01ARZ3NDEKTSV4RRFFQ69G5FA\u0000", caller)))._tag).toBe("ApprovalNotFound")
        expect((yield* Effect.flip(approvals.decide("\u0000", "approved", caller, "x")))._tag).toBe("ApprovalNotFound")
        expect((yield* Effect.flip(approvals.use("\u0000", "d".repeat(64), caller)))._tag).toBe("ApprovalRefused")
        expect(yield* database.health.run).toMatchObject({ status: "healthy" })
      }))
  })
}
