import { expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { eventually, startStdioServer, type StdioServer } from "../support/server.js"
import { loggingShims, readShimLog, tempDir } from "../support/shims.js"
import { type Allowed, ALLOWED_TARGETS, allowedCalls, attacks, permittedTokens, shimmedBinaries, unexpectedCalls } from "./cases.js"

/** The real server over stdio with shims in place of every tool binary (PATH is the shim directory alone). */
class Target
  extends Context.Tag("test/attack/mcp/Target")<Target, StdioServer & { readonly log: string; readonly made: Array<Allowed> }>()
{}

const TargetLive = Layer.scoped(
  Target,
  Effect.gen(function*() {
    const dir = yield* tempDir("mcp-attack")
    const { log } = loggingShims(dir, shimmedBinaries)
    const server = yield* startStdioServer({
      path: dir,
      env: { MCP_SECURITY_ALLOWED_TARGETS: ALLOWED_TARGETS, MCP_RATE_LIMIT_ENABLED: "false" }
    })
    return { ...server, log, made: [] }
  })
)

interface ToolError {
  readonly _tag: string
  readonly message: string
}

const call = (server: StdioServer, tool: string, input: unknown) =>
  Effect.promise(() => server.client.callTool({ name: tool, arguments: input as Record<string, unknown> }))

layer(TargetLive, { excludeTestServices: true, timeout: "30 seconds" })("attacks over MCP stdio", (it) => {
  it.effect("every tool binary is the shim", () =>
    Effect.gen(function*() {
      const { client, log } = yield* Target
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((tool) => tool.name)).toContain("NmapTool")
      // The registry asks every binary for its version in the background after start-up.
      const probed = Effect.sync(() => readShimLog(log).map((c) => c.tool).sort())
      yield* eventually("every binary was asked for its version", Effect.map(probed, (tools) => tools.length >= shimmedBinaries.length))
      expect(yield* probed).toEqual([...shimmedBinaries].sort())
    }))

  it.effect.each(attacks)("$name is refused with $tag", (attack) =>
    Effect.gen(function*() {
      const server = yield* Target
      const result = yield* call(server, attack.tool, attack.input)
      expect(result.isError).toBe(true)
      const error = (result.structuredContent as { error?: ToolError } | undefined)?.error
      expect(error?._tag).toBe(attack.tag)
      expect(error?.message.length).toBeGreaterThan(0)
    }))

  it.effect.each(allowedCalls)("$tool $input runs with exactly the validated argv", (allowed) =>
    Effect.gen(function*() {
      const server = yield* Target
      const result = yield* call(server, allowed.tool, allowed.input)
      server.made.push(allowed)
      expect(result.isError).toBe(false)
      const execution = (result.structuredContent as { execution: { argv: ReadonlyArray<string> } }).execution
      expect(execution.argv.slice(-allowed.argv.length)).toEqual(allowed.argv)
    }))

  it.effect("the shims saw only version probes and the allowed calls", () =>
    Effect.gen(function*() {
      const { log, made } = yield* Target
      const calls = readShimLog(log)
      expect(unexpectedCalls(calls, made)).toEqual([])
      const permitted = permittedTokens(made)
      expect(calls.flatMap((c) => c.argv).filter((token) => !permitted.has(token))).toEqual([])
      expect(calls.length).toBe(shimmedBinaries.length + made.length)
    }))
})
