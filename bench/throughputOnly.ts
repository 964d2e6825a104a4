import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { evaluate, table } from "./report.js"
import { ourHttpServer } from "./servers.js"
import { throughputBench } from "./throughput.js"

/**
 * `npm run bench:http`: only the HTTP throughput step of `npm run bench`
 * (our server against a bare node:http child in the same run), for a quick
 * before/after comparison of a change to the HTTP layer. Prints the table and
 * writes nothing.
 */
const program = Effect.scoped(
  Effect.gen(function*() {
    const server = yield* ourHttpServer()
    const { rows } = yield* throughputBench(server)
    process.stdout.write(`${table(rows.map(evaluate))}\n`)
  })
)

NodeRuntime.runMain(program)
