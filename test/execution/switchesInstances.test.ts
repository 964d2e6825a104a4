import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { testDatabases } from "../storage/support.js"
import { twoInstances } from "../support/instances.js"
import { eventually, httpRequest } from "../support/server.js"

/**
 * Operator switches across two real server processes on one real
 * PostgreSQL: a tool disabled and a breaker held open through one instance
 * hold on the other within a few seconds, and so does undoing them. Nothing
 * is scanned: a disabled tool is refused before anything is spawned.
 */

const postgres = testDatabases.find((db) => db.name === "postgres")!

interface ToolInfo {
  readonly name: string
  readonly enabled: boolean
  readonly circuitState: string
}

describe("operator switches across instances on one PostgreSQL", () => {
  it.scopedLive("set through one instance, they hold on the other", () =>
    Effect.gen(function*() {
      const db = yield* postgres.make
      const [a, b] = yield* twoInstances(db)
      const toolOn = (port: number, name: string) =>
        Effect.map(httpRequest(port, "GET", "/tools"), (r) => (r.body as ReadonlyArray<ToolInfo>).find((t) => t.name === name)!)
      const holds = (what: string, port: number, name: string, check: (t: ToolInfo) => boolean) =>
        eventually(what, Effect.map(toolOn(port, name), check), Duration.seconds(15))

      expect((yield* httpRequest(a!.port, "POST", "/tools/NmapTool/disable")).status).toBe(200)
      expect((yield* httpRequest(a!.port, "POST", "/tools/DigTool/circuit/open")).status).toBe(200)
      yield* holds("NmapTool disabled on the other instance", b!.port, "NmapTool", (t) => !t.enabled)
      yield* holds("DigTool's breaker open on the other instance", b!.port, "DigTool", (t) => t.circuitState === "OPEN")
      const refused = yield* httpRequest(b!.port, "POST", "/tools/NmapTool/execute", {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ target: "127.0.0.1", args: ["-n", "-sT", "-p", "1"] })
      })
      expect(refused.body).toMatchObject({ detail: { _tag: "ToolDisabled" } })

      // Undone through the other one.
      expect((yield* httpRequest(b!.port, "POST", "/tools/NmapTool/enable")).status).toBe(200)
      expect((yield* httpRequest(b!.port, "POST", "/tools/DigTool/circuit/close")).status).toBe(200)
      yield* holds("NmapTool enabled again on the first", a!.port, "NmapTool", (t) => t.enabled)
      yield* holds("DigTool's breaker closed on the first", a!.port, "DigTool", (t) => t.circuitState === "CLOSED")
      expect(a!.stderr()).toContain("operator switch of NmapTool set through another instance: enabled")
    }), { timeout: 90_000 })
})
