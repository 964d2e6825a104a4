import { Effect } from "effect"
import { makeConfigFile } from "../e2e/support/config.js"
import type { TestDatabase } from "../storage/support.js"
import { startHttpServer } from "./server.js"

/**
 * Two HTTP server processes over one config file and one PostgreSQL
 * database, as a shared deployment runs them; `settings` are the rest of the
 * config. The file is removed and the servers stopped with the scope.
 */
export const twoInstances = (db: TestDatabase, settings: Record<string, unknown> = {}) =>
  Effect.gen(function*() {
    const config = makeConfigFile({
      server: { transport: "http", host: "127.0.0.1", port: 0, shutdown_grace_period: 1 },
      storage: db.storage,
      ...settings
    })
    yield* Effect.addFinalizer(() => Effect.sync(config.remove))
    const env = { MCP_STORAGE_URL: String(db.storage!.url) }
    return yield* Effect.all([startHttpServer({ configFile: config.path, env }), startHttpServer({ configFile: config.path, env })], {
      concurrency: 2
    })
  })
