import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import type { jsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js"
import { Effect } from "effect"
import { BoundedTaskStore, defaultTaskLimits, type DurableTasks, type TaskLimits } from "./TaskStore.js"

export interface ServerInfo {
  readonly name: string
  readonly version: string
}

const INSTRUCTIONS =
  "Runs network security tools (nmap first) against allowed lab targets. Each call is validated against the server's target and argument policy; " +
  "a rejected call returns isError with text saying what to change. Each tool's description links its full flag table (tools://NAME/flags). " +
  "Prompts give ready plans (discover-network, audit-web-service, compare-with-last-scan). " +
  "Long scans can run as tasks (tools/call with a task): poll tasks/get, then fetch the result with tasks/result. " +
  "Every scan is stored: its result links scan://ID (whole result, raw output, hosts); history://TARGET lists a target's scans, " +
  "ScanDiff and diff://A/B compare two; ScanReport and report://scan/ID.md (or .html) write reports."

const capabilities = (tasks: boolean) => ({
  tools: { listChanged: true },
  // Subscriptions need a session to be told on: not in stateless mode (no tasks either).
  resources: { listChanged: true, ...(tasks ? { subscribe: true } : {}) },
  prompts: { listChanged: true },
  completions: {},
  logging: {},
  ...(tasks ? { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } } : {})
})

/**
 * The SDK's Ajv validator, made on first use: the SDK would build one for
 * every server (a few milliseconds of a stdio start-up and of every HTTP
 * session) to check elicitation answers, which this server never asks for.
 */
const lazyValidator = (): jsonSchemaValidator => {
  let ajv: AjvJsonSchemaValidator | undefined
  return { getValidator: (schema) => (ajv ??= new AjvJsonSchemaValidator()).getValidator(schema) }
}

/**
 * An MCP server before its handlers: what `initialize` answers with (name, version, capabilities, instructions)
 * and its task store, so the SDK can answer `initialize` while the services behind the other methods are still
 * being built (stdio). `makeMcpServer` adds the handlers, and the scan store behind tasks this store no longer
 * holds (`bindDurable`).
 */
export interface McpServerShell {
  readonly server: Server
  readonly taskStore: BoundedTaskStore | undefined
  /** The task store's bounds; undefined without tasks. */
  readonly taskLimits: TaskLimits | undefined
  readonly bindDurable: (durable: DurableTasks) => void
}

/** `tasks`: this server's task store bounds, `false` for a server without tasks (stateless HTTP). The store reads `Clock`. */
export const makeServerShell = (info: ServerInfo, tasks: Partial<TaskLimits> | false | undefined): Effect.Effect<McpServerShell> =>
  Effect.map(Effect.clock, (clock) => {
    let durable: DurableTasks | undefined
    const taskLimits = tasks === false ? undefined : { ...defaultTaskLimits, ...(tasks ?? {}) }
    const taskStore = taskLimits === undefined ? undefined : new BoundedTaskStore(
      taskLimits,
      () => clock.unsafeCurrentTimeMillis(),
      { get: (taskId) => durable === undefined ? Promise.resolve(undefined) : durable.get(taskId) }
    )
    const server = new Server(
      { name: info.name, version: info.version },
      {
        capabilities: capabilities(tasks !== false),
        instructions: INSTRUCTIONS,
        jsonSchemaValidator: lazyValidator(),
        ...(taskStore === undefined ? {} : { taskStore })
      }
    )
    return {
      server,
      taskStore,
      taskLimits,
      bindDurable: (d) => {
        durable = d
      }
    }
  })
