import { Effect } from "effect"
import http from "node:http"
import { performance } from "node:perf_hooks"
import { BenchFailed } from "./errors.js"

export interface Reply {
  readonly status: number
  readonly body: string
  readonly ms: number
}

export interface RequestSpec {
  readonly method: "GET" | "POST"
  readonly path: string
  readonly body?: string
}

const headersOf = (body: string | undefined) =>
  body === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }

/** One request over `agent`, timed from write to the last body byte. */
export const requestOnce = (agent: http.Agent, port: number, spec: RequestSpec): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const started = performance.now()
    const req = http.request(
      { agent, host: "127.0.0.1", port, method: spec.method, path: spec.path, headers: headersOf(spec.body) },
      (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (chunk: Buffer) => chunks.push(chunk))
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8"), ms: performance.now() - started }))
        res.on("error", reject)
      }
    )
    req.on("error", reject)
    req.end(spec.body)
  })

export const request = (agent: http.Agent, port: number, spec: RequestSpec, step: string): Effect.Effect<Reply, BenchFailed> =>
  Effect.tryPromise({
    try: () => requestOnce(agent, port, spec),
    catch: (error) => new BenchFailed({ step, message: `${spec.method} ${spec.path}: ${String(error)}` })
  })

export const executeBody = (target: string, args: ReadonlyArray<string> = []) => JSON.stringify({ target, args })
