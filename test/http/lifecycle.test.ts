import { describe, expect, it } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Deferred, Effect, Exit, Layer, Scope } from "effect"
import { ConfigService } from "../../src/config/ConfigService.js"
import { HttpServerLive } from "../../src/http/HttpServerLive.js"
import { info, makeFake, startServer } from "./fakes.js"

describe("HttpServerLive lifecycle", () => {
  it.scopedLive("refuses to start on a non-loopback address without API keys", () =>
    Effect.gen(function*() {
      const { layer } = yield* makeFake
      // fails before listening: nothing is ever bound on 0.0.0.0
      const exit = yield* Layer.build(
        HttpServerLive(info).pipe(Layer.provide(layer), Layer.provide(ConfigService.layerWith({ server: { host: "0.0.0.0", port: 0 } })))
      ).pipe(Effect.exit)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("ConfigInvalid")
    }))

  it.live("shutdown closes open SSE streams and MCP sessions and interrupts their executions", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { base, fake } = yield* startServer().pipe(Scope.extend(scope))
      const events = yield* Effect.promise(() => fetch(`${base}/events`))
      const reader = events.body!.getReader()
      yield* Effect.promise(() => reader.read())
      const client = new Client({ name: "vitest", version: "1.0.0" })
      yield* Effect.promise(() => client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`))))
      const call = client.callTool({ name: "NmapTool", arguments: { target: "slow" } }).then(() => "resolved", () => "rejected")
      yield* Deferred.await(fake.started)
      yield* Scope.close(scope, Exit.void).pipe(Effect.timeout("10 seconds"))
      expect(yield* Deferred.await(fake.interrupted).pipe(Effect.timeout("5 seconds"))).toBe("anonymous@127.0.0.1")
      const rest = yield* Effect.promise(() => reader.read().then((r) => r.done, () => true))
      expect(rest).toBe(true)
      expect(yield* Effect.promise(() => call)).toBe("rejected")
      yield* Effect.promise(() => client.close())
    }), 20_000)
})
