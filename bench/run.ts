import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { auditBench } from "./audit.js"
import { burstBench } from "./burst.js"
import { machineInfo, sampleLoad } from "./machine.js"
import { memoryBench } from "./memory.js"
import { overloadBench } from "./overload.js"
import { renderBench, replaceBench, type Results } from "./readme.js"
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
 * same run on the same machine, runs alternating with their baseline; printed
 * as a table, written to bench/results.json with the machine and its load,
 * and rendered into the README's performance block. Everything runs on
 * 127.0.0.1; every child is stopped when its step ends, also on failure or
 * Ctrl-C. `BENCH_NO_README=1` leaves the README alone.
 *
 * `npm run bench -- --only <text>` runs only the steps whose name contains
 * the text (case-insensitive, e.g. `--only throughput`) and prints their
 * rows; it writes neither results.json nor the README, which hold a whole
 * run.
 */

const root = fileURLToPath(new URL("..", import.meta.url))
const resultsPath = `${root}bench/results.json`
const readmePath = `${root}README.md`

const onlyAt = process.argv.indexOf("--only")
const only = onlyAt < 0 ? undefined : (process.argv[onlyAt + 1] ?? "").toLowerCase()
const selected = (name: string) => only === undefined || name.toLowerCase().includes(only)

/** What a step that was not selected contributes. */
const skipped = { rows: [], details: {} }

const step = <A extends { readonly rows: ReadonlyArray<Row> }, E, R>(name: string, effect: Effect.Effect<A, E, R>) =>
  selected(name)
    ? Effect.gen(function*() {
      process.stderr.write(`bench: ${name}…\n`)
      return yield* effect
    })
    : Effect.succeed(skipped as unknown as A)

const TOOLS = "nmap and the fixed cost per call"
const THROUGHPUT = "HTTP throughput"

const program = Effect.gen(function*() {
  const machine = machineInfo()
  const load = sampleLoad()
  const toolList = yield* step("MCP tool list tokens", toolListBench)
  const startup = yield* step("stdio start-up", startupBench)
  const memory = yield* step("memory: idle, during a scan, after a 1 GiB flood (about a minute)", memoryBench)
  const { throughput, tools } = selected(TOOLS) || selected(THROUGHPUT)
    ? yield* Effect.scoped(
      Effect.gen(function*() {
        const server = yield* ourHttpServer()
        const tools = yield* step(TOOLS, toolsBench(server))
        const throughput = yield* step(THROUGHPUT, throughputBench(server))
        return { tools, throughput }
      })
    )
    : { throughput: skipped, tools: skipped }
  const burst = yield* step("20 simultaneous calls under the shipped defaults", burstBench)
  const complete = yield* step("complete results of 127.0.0.0/24, /26, /28 × 50 ports", resultsBench)
  const audit = yield* step("audit log under 1,000 concurrent writers", Effect.scoped(auditBench))
  const store = yield* step("scan store writes", Effect.scoped(storeBench))
  const overload = yield* step("overload: 1,000 concurrent REST calls, a rejected-call flood", Effect.scoped(overloadBench))
  const watch = yield* step("scheduled targets on PostgreSQL", Effect.scoped(watchBench))
  const loadRecord = load.finish()
  const rows = [
    ...toolList.rows,
    ...startup.rows,
    ...tools.rows,
    ...throughput.rows,
    ...burst.rows,
    ...memory.rows,
    ...complete.rows,
    ...audit.rows,
    ...store.rows,
    ...overload.rows,
    ...watch.rows
  ].map((row: Row) => evaluate(row))
  if (only !== undefined) {
    const notes = rows.flatMap((row) => (row.note === undefined ? [] : [`- ${row.name}: ${row.note}\n`])).join("")
    process.stdout.write(`\n${table(rows)}\n\n${notes}--only ${only}: nothing written (results.json and the README hold a whole run)\n`)
    return
  }
  const results: Results & { readonly details: Record<string, unknown> } = {
    machine,
    load: loadRecord,
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
      burst: burst.details,
      memory: memory.details,
      results: complete.details,
      audit: audit.details,
      store: store.details,
      overload: overload.details
    }
  }
  writeFileSync(resultsPath, `${JSON.stringify(results, null, 2)}\n`)
  const where =
    `${machine.cpus}× ${machine.cpuModel}, node ${machine.node}, ${machine.date}, 1-minute load average ${loadRecord.atStart[0]} → ` +
    `${loadRecord.during.min}–${loadRecord.during.max} → ${loadRecord.atEnd[0]}`
  process.stdout.write(`\n${where}\n\n${table(rows)}\n\nwrote ${resultsPath}\n`)
  if (loadRecord.during.max > machine.cpus / 2) {
    process.stderr.write(
      `bench: the load average reached ${loadRecord.during.max} on ${machine.cpus} CPUs: other work shared them; run again when the machine is quieter\n`
    )
  }
  if (process.env["BENCH_NO_README"] !== "1") {
    writeFileSync(readmePath, replaceBench(readFileSync(readmePath, "utf8"), renderBench(results)))
    process.stdout.write(`wrote the performance table of ${readmePath}\n`)
  }
})

NodeRuntime.runMain(program)
