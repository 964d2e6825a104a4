import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { createServer, type Socket } from "node:net"
import { testDatabases } from "../storage/support.js"
import { killGroup } from "../support/cleanup.js"
import { twoInstances } from "../support/instances.js"
import { eventually, httpRequest, type ServerProcess } from "../support/server.js"
import { createSchedule, getSchedule, watcherKey } from "./support.js"

/**
 * Two real server processes (the built server) sharing one real PostgreSQL:
 * a schedule created through one runs on exactly one of them; SIGKILL the
 * one running it, and the other takes the run over once its lease expires,
 * marks it interrupted and retries it once: no double run, no lost run.
 */

const postgres = testDatabases.find((db) => db.name === "postgres")!

/**
 * A listener on 127.0.0.1 that says nothing while `slow` (nmap -sV waits on
 * it, so a run lasts), and closes connections at once afterwards.
 */
const switchableListener = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly fast: () => void; readonly close: () => void }>((resume) => {
    let slow = true
    const held = new Set<Socket>()
    const server = createServer((socket) => {
      socket.on("error", () => undefined)
      if (!slow) return void socket.end()
      held.add(socket)
      socket.on("close", () => held.delete(socket))
    })
    server.listen(0, "127.0.0.1", () =>
      resume(Effect.succeed({
        port: (server.address() as { port: number }).port,
        fast: () => {
          slow = false
          for (const socket of held) socket.end()
        },
        close: () => {
          for (const socket of held) socket.destroy()
          server.close()
        }
      })))
  }),
  (listener) => Effect.sync(listener.close)
)

const instanceOf = (server: ServerProcess) =>
  Effect.map(httpRequest(server.port, "GET", "/health"), (reply) => reply.body?.checks?.storage?.metadata?.instance_id as string)

describe("several instances on one PostgreSQL", () => {
  it.scopedLive("exactly one instance runs a due run; when it is SIGKILLed the other retries it once", () =>
    Effect.gen(function*() {
      const db = yield* postgres.make
      const listener = yield* switchableListener
      const servers = yield* twoInstances(db, {
        auth: { api_keys: [watcherKey] },
        // A lease long enough that a loaded machine renews it in time, short enough for a quick takeover.
        watch: { poll_interval: 0.1, lease_seconds: 6, min_interval: 1 }
      })
      const instances = yield* Effect.forEach(servers, instanceOf)
      expect(new Set(instances).size).toBe(2)

      const created = yield* createSchedule(servers[0]!.port, {
        name: "slow-service-scan",
        tool: "NmapTool",
        target: "127.0.0.1",
        args: ["-n", "-sT", "-Pn", "-sV", "-p", String(listener.port)],
        interval: 3600,
        max_runtime: 120
      })
      expect(created.status, created.text).toBe(200)
      const id = created.body.schedule_id as string

      const running = () =>
        Effect.map(getSchedule(servers[1]!.port, id), (s) => (s.recent_runs as ReadonlyArray<any>).find((r) => r.status === "running"))
      yield* eventually("the first run to start", Effect.map(running(), (r) => r !== undefined), Duration.seconds(30))
      const first = yield* running()
      const victim = instances.indexOf(first.instance_id)
      expect(victim).toBeGreaterThanOrEqual(0)
      const survivor = servers[1 - victim]!
      killGroup(servers[victim]!.pid)
      yield* Effect.promise(() => servers[victim]!.exited)
      listener.fast()

      yield* eventually(
        "the survivor to retry the run and finish it",
        Effect.map(getSchedule(survivor.port, id), (s) => (s.recent_runs as ReadonlyArray<any>).some((r) => r.status === "succeeded")),
        Duration.seconds(60)
      )
      const schedule = yield* getSchedule(survivor.port, id)
      const runs = (schedule.recent_runs as ReadonlyArray<any>).map((r) => [r.attempt, r.status, r.instance_id])
      expect(runs).toEqual([
        [2, "succeeded", instances[1 - victim]],
        [1, "interrupted", instances[victim]]
      ])
      expect(schedule.recent_runs[0].due_at).toBe(schedule.recent_runs[1].due_at)
      expect(schedule.recent_runs[0].scan_id).not.toBeNull()
      // Nothing else runs: the next run is an hour away.
      yield* Effect.sleep(Duration.seconds(1))
      expect(((yield* getSchedule(survivor.port, id)).recent_runs as ReadonlyArray<unknown>).length).toBe(2)
    }), { timeout: 150_000 })
})
