import { HttpServer } from "@effect/platform"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import { Deferred, Effect, Layer, Queue, type Scope } from "effect"
import { ConfigService, type DeepPartial } from "../../src/config/ConfigService.js"
import type { AppConfig } from "../../src/config/schema.js"
import { ToolExecutor } from "../../src/execution/ToolExecutor.js"
import { HttpServerLive } from "../../src/http/HttpServerLive.js"
import { type Fake, info, makeFake, resultFor } from "../http/fakes.js"

/**
 * The HTTP test server of test/http/fakes.ts with one more cue: target
 * `stepped` runs until the test says so. Each `step` reports one progress
 * step, `finish` returns the canned success; interruption is recorded.
 */
export interface Stepper {
  readonly commands: Queue.Queue<"step" | "finish">
  /** Completes when a `stepped` execution has started. */
  readonly started: Deferred.Deferred<void>
  /** Completes with the caller id when a `stepped` execution is interrupted. */
  readonly interrupted: Deferred.Deferred<string>
}

export interface TaskServer {
  readonly fake: Fake
  readonly stepper: Stepper
  readonly base: string
}

const targetOf = (input: unknown) => typeof input === "object" && input !== null && "target" in input ? String(input.target) : ""

export const startTaskServer = (
  patch: DeepPartial<typeof AppConfig.Encoded> = {}
): Effect.Effect<TaskServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { fake, layer } = yield* makeFake
    const stepper: Stepper = {
      commands: yield* Queue.unbounded<"step" | "finish">(),
      started: yield* Deferred.make<void>(),
      interrupted: yield* Deferred.make<string>()
    }
    const stepped = Layer.effect(
      ToolExecutor,
      Effect.map(ToolExecutor, (base) => ({
        ...base,
        execute: (tool, input, caller, options) =>
          targetOf(input) !== "stepped" ? base.execute(tool, input, caller, options) : Effect.gen(function*() {
            yield* Deferred.succeed(stepper.started, undefined)
            for (let step = 1;; step++) {
              if ((yield* Queue.take(stepper.commands)) === "finish") return resultFor(tool, "127.0.0.1")
              yield* options?.onProgress?.({ progress: step, total: 10, message: `step ${step}` }) ?? Effect.void
            }
          }).pipe(Effect.onInterrupt(() => Deferred.succeed(stepper.interrupted, caller.id)))
      }))
    ).pipe(Layer.provide(layer))
    const config = ConfigService.layerWith({ ...patch, server: { host: "127.0.0.1", port: 0, ...patch.server } })
    const context = yield* Layer.build(
      HttpServerLive(info).pipe(Layer.provideMerge(Layer.merge(layer, stepped)), Layer.provide(config))
    ).pipe(Effect.orDie)
    const server = yield* HttpServer.HttpServer.pipe(Effect.provide(context))
    const port = server.address._tag === "TcpAddress" ? server.address.port : 0
    return { fake, stepper, base: `http://127.0.0.1:${port}` }
  })

export const connect = (base: string, key?: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } }
      })
      const client = new Client({ name: "vitest", version: "1.0.0" })
      await client.connect(transport)
      await client.listTools()
      return { client, transport }
    }),
    ({ client }) => Effect.promise(() => client.close())
  )
