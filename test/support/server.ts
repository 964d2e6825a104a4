import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js"
import { Duration, Effect, type Scope } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { type Agent, type IncomingHttpHeaders, type OutgoingHttpHeaders, request } from "node:http"
import { tmpdir } from "node:os"
import { fileURLToPath } from "node:url"
import { atExit, killGroup } from "./cleanup.js"
import { privateStorageEnv } from "./storage.js"

/**
 * The built server (`npm run build`, run by `npm test` as pretest), launched
 * the way operators launch it, optionally behind a wrapper such as
 * `ip netns exec NS`, which execs, so the pid is the server's own.
 */
export const SERVER_JS = fileURLToPath(new URL("../../dist/server.js", import.meta.url))

export interface ServerOptions {
  /** MCP_* settings; the test runner's own environment is never passed on. */
  readonly env?: Readonly<Record<string, string>>
  /** PATH the server resolves tool binaries on at start-up. */
  readonly path?: string
  /** argv prefix that runs the server, e.g. `["/usr/sbin/ip", "netns", "exec", ns]`. */
  readonly wrap?: ReadonlyArray<string>
  readonly configFile?: string
  /** What the stdio client advertises besides the SDK's defaults (e.g. an extension). */
  readonly clientCapabilities?: ClientCapabilities
}

const serverEnv = (options: ServerOptions, transport: "stdio" | "http"): Record<string, string> => ({
  PATH: options.path ?? process.env["PATH"] ?? "/usr/bin:/bin",
  HOME: tmpdir(),
  LANG: "C",
  MCP_SERVER_TRANSPORT: transport,
  MCP_SERVER_PORT: "0",
  MCP_HEALTH_CHECK_INTERVAL: "1",
  ...(options.env?.["MCP_STORAGE_PATH"] !== undefined || options.env?.["MCP_STORAGE_URL"] !== undefined ? {} : privateStorageEnv()),
  ...options.env
})

const serverArgv = (options: ServerOptions): ReadonlyArray<string> => [
  ...(options.wrap ?? []),
  process.execPath,
  SERVER_JS,
  "serve",
  ...(options.configFile === undefined ? [] : ["--config", options.configFile])
]

export interface ServerProcess {
  readonly child: ChildProcess
  readonly pid: number
  readonly port: number
  /** Everything the server logged so far. */
  readonly stderr: () => string
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>
}

const STARTUP = Duration.seconds(20)

/** Stops a server: SIGTERM, up to `grace` to exit, then SIGKILL of its group. */
export const stopServer = (server: Pick<ServerProcess, "child" | "pid" | "exited">, grace: Duration.DurationInput = Duration.seconds(8)) =>
  Effect.promise(async () => {
    if (server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill("SIGTERM")
      const timer = new Promise<void>((resolve) => setTimeout(resolve, Duration.toMillis(grace)).unref())
      await Promise.race([server.exited, timer])
    }
    killGroup(server.pid)
  })

/** Starts `serve --transport http` on a free loopback port, stopped with the scope. */
export const startHttpServer = (options: ServerOptions = {}): Effect.Effect<ServerProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.async<ServerProcess>((resume) => {
      const [command, ...args] = serverArgv(options)
      const child = spawn(command!, args, { env: serverEnv(options, "http"), stdio: ["ignore", "pipe", "pipe"], detached: true })
      const pid = child.pid ?? -1
      const forget = atExit(() => killGroup(pid))
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once("exit", (code, signal) => {
          forget()
          resolve({ code, signal })
        })
      )
      let log = ""
      let done = false
      const finish = (effect: Effect.Effect<ServerProcess>) => {
        if (done) return
        done = true
        clearTimeout(timer)
        resume(effect)
      }
      const timer = setTimeout(() => finish(Effect.die(new Error(`server did not start in time:\n${log}`))), Duration.toMillis(STARTUP))
      child.stdout?.resume()
      child.stderr?.on("data", (chunk: Buffer) => {
        log += chunk.toString("utf8")
        const match = /listening on http:\/\/[^\s:]+:(\d+)/.exec(log)
        if (match) finish(Effect.succeed({ child, pid, port: Number(match[1]), stderr: () => log, exited }))
      })
      void exited.then(({ code, signal }) => finish(Effect.die(new Error(`server exited (${code ?? signal}) before listening:\n${log}`))))
    }),
    (server) => stopServer(server)
  )

export interface StdioServer {
  readonly client: Client
  readonly pid: number
  readonly stderr: () => string
}

/** `serve --transport stdio` with an MCP SDK client connected to it, closed with the scope. */
export const startStdioServer = (options: ServerOptions = {}): Effect.Effect<StdioServer, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const [command, ...args] = serverArgv(options)
      const transport = new StdioClientTransport({ command: command!, args, env: serverEnv(options, "stdio"), stderr: "pipe" })
      let log = ""
      transport.stderr?.on("data", (chunk: Buffer) => {
        log += chunk.toString("utf8")
      })
      const client = new Client(
        { name: "security-mcp-tests", version: "1.0.0" },
        options.clientCapabilities === undefined ? {} : { capabilities: options.clientCapabilities }
      )
      await client.connect(transport)
      const pid = transport.pid ?? -1
      const forget = atExit(() => killGroup(pid))
      return { client, pid, stderr: () => log, forget }
    }),
    ({ client, forget, pid }) =>
      Effect.promise(async () => {
        await client.close()
        killGroup(pid)
        forget()
      })
  )

export interface Reply {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly text: string
  /** The parsed JSON body, or undefined when it is not JSON. */
  readonly body: any
}

export interface RequestOptions {
  readonly body?: string | Buffer
  readonly headers?: OutgoingHttpHeaders
  readonly agent?: Agent
}

/** One HTTP request to the server on 127.0.0.1; a network error fails with it. */
export const httpRequest = (port: number, method: string, path: string, options: RequestOptions = {}): Effect.Effect<Reply, Error> =>
  Effect.async<Reply, Error>((resume) => {
    const req = request({ host: "127.0.0.1", port, method, path, headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("error", (error) => resume(Effect.fail(error)))
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8")
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          body = undefined
        }
        resume(Effect.succeed({ status: res.statusCode ?? 0, headers: res.headers, text, body }))
      })
    })
    req.on("error", (error) => resume(Effect.fail(error)))
    req.end(options.body)
    return Effect.sync(() => req.destroy())
  })

/** POST /tools/{tool}/execute with a JSON body. */
export const executeHttp = (port: number, tool: string, input: unknown, agent?: Agent) =>
  httpRequest(port, "POST", `/tools/${encodeURIComponent(tool)}/execute`, {
    body: JSON.stringify(input),
    headers: { "content-type": "application/json" },
    ...(agent === undefined ? {} : { agent })
  })

/** Polls `check` every 50 ms until it returns true; dies with `what` after `timeout`. */
export const eventually = <E, R>(
  what: string,
  check: Effect.Effect<boolean, E, R>,
  timeout: Duration.DurationInput = Duration.seconds(10)
) =>
  Effect.gen(function*() {
    const deadline = Date.now() + Duration.toMillis(timeout)
    while (!(yield* check)) {
      if (Date.now() > deadline) return yield* Effect.die(new Error(`timed out waiting for: ${what}`))
      yield* Effect.sleep(Duration.millis(50))
    }
  })
