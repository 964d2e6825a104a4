import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import os from "node:os"
import { fileURLToPath } from "node:url"
import { auditBench } from "./audit.js"
import { machineInfo } from "./machine.js"
import { memoryBench } from "./memory.js"
import { overloadBench } from "./overload.js"
import { evaluate, type Row, table } from "./report.js"
import { resultsBench } from "./results.js"
import { ourHttpServer } from "./servers.js"
import { startupBench } from "./startup.js"
import { storeBench } from "./store.js"
import { throughputBench } from "./throughput.js"
import { toolListBench } from "./toolList.js"
import { toolsBench } from "./tools.js"
import { watchBench } from "./watch.js"

/**
 * `npm run bench`: every figure of ours next to a baseline measured in the
 * same run on the same machine, printed as a table and written to
 * bench/results.json. Everything runs on 127.0.0.1; every child is stopped
 * when its step ends, also on failure or Ctrl-C.
 */

const resultsPath = fileURLToPath(new URL("../bench/results.json", import.meta.url))

const step = <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    process.stderr.write(`bench: ${name}…\n`)
    return yield* effect
  })

const program = Effect.gen(function*() {
  const machine = machineInfo()
  if (machine.loadAverageAtStart[0]! > machine.cpus / 2) {
    process.stderr.write(`bench: load average ${machine.loadAverageAtStart[0]} on ${machine.cpus} CPUs: other work will skew the figures\n`)
  }
  const toolList = yield* step("MCP tool list tokens", toolListBench)
  const startup = yield* step("stdio start-up", startupBench)
  const { tools, throughput } = yield* Effect.scoped(
    Effect.gen(function*() {
      const server = yield* ourHttpServer()
      const tools = yield* step("nmap and per-call overhead", toolsBench(server))
      const throughput = yield* step("HTTP throughput", throughputBench(server))
      return { tools, throughput }
    })
  )
  const memory = yield* step("memory under a 1 GiB output flood", Effect.scoped(memoryBench))
  const complete = yield* step("complete results of 127.0.0.0/24, /26, /28 × 50 ports", resultsBench)
  const audit = yield* step("audit log under 1,000 concurrent writers", Effect.scoped(auditBench))
  const store = yield* step("scan store writes", Effect.scoped(storeBench))
  const overload = yield* step("overload: 1,000 concurrent REST calls, a rejected-call flood", Effect.scoped(overloadBench))
  const watch = yield* step("scheduled targets on PostgreSQL", Effect.scoped(watchBench))
  const rows = [
    ...toolList.rows,
    ...startup.rows,
    ...tools.rows,
    ...throughput.rows,
    ...memory.rows,
    ...complete.rows,
    ...audit.rows,
    ...store.rows,
    ...overload.rows,
    ...watch.rows
  ].map((
    row: Row
  ) => evaluate(row))
  const text = table(rows)
  const notes = rows.filter((row) => row.note !== undefined).map((row) => `  ${row.name}: ${row.note}`)
  const loadAverageAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)))
  const where = `${machine.cpus}× ${machine.cpuModel}, node ${machine.node}, ${machine.date}, load average ${
    machine.loadAverageAtStart[0]
  } → ${loadAverageAtEnd[0]}`
  process.stdout.write(`\n${where}\n\n${text}\n\nNotes:\n${notes.join("\n")}\n`)
  const results = {
    machine: { ...machine, loadAverageAtEnd },
    rows: rows.map((row) => ({
      ...row,
      ours: Number(row.ours.toFixed(3)),
      baseline: Number(row.baseline.toFixed(3)),
      ratio: Number(row.ratio.toFixed(3))
    })),
    details: {
      toolList: toolList.details,
      startup: startup.details,
      tools: tools.details,
      throughput: throughput.details,
      memory: memory.details,
      results: complete.details,
      audit: audit.details,
      store: store.details,
      overload: overload.details
    }
  }
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`)
  process.stdout.write(`\nwrote ${resultsPath}\n`)
})

NodeRuntime.runMain(program)
