import * as Reactivity from "@effect/experimental/Reactivity"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqlClient from "@effect/sql/SqlClient"
import Sqlite from "better-sqlite3"
import { Context, Duration, Effect, Layer, Redacted, type Scope } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { ConfigService } from "../src/config/ConfigService.js"
import { Database } from "../src/storage/Database.js"
import type { ScanEnd, ScanStart } from "../src/storage/ScanRecord.js"
import { ScanRecorder } from "../src/storage/ScanRecorder.js"
import { ScanStore } from "../src/storage/ScanStore.js"
import { StorageLive } from "../src/storage/StorageLive.js"
import { makeUlidGenerator } from "../src/storage/ulid.js"
import { BenchFailed } from "./errors.js"
import type { Row } from "./report.js"
import { rounded, summarize } from "./stats.js"

/**
 * 6. Store write time per scan for a realistic record: a 127.0.0.0/24 scan
 *    with 50 open ports per host (256 hosts, 12,800 ports, ~1.7 MB of XML),
 *    through the ScanStore (running row, then the finished row with outputs
 *    and result compressed) against a bare insert of the same JSON and XML,
 *    uncompressed, through the same driver. Also: what recording costs the
 *    scan path itself (the recorder only queues) and the longest event-loop
 *    stall while the writes run. PostgreSQL rows when a server is reachable
 *    (MCP_BENCH_PG_URL, default the role `.ci/setup` creates).
 */

const RUNS = 30
const WARMUP = 3
const HOSTS = 256
const PORTS = 50

const PG_ADMIN_URL = process.env["MCP_BENCH_PG_URL"] ?? process.env["MCP_TEST_PG_URL"] ??
  "postgres://mcp_test:mcp_test@127.0.0.1:5432/postgres"

const portXml = (port: number) =>
  `<port protocol="tcp" portid="${port}"><state state="open" reason="syn-ack" reason_ttl="0"/><service name="unknown" method="table" conf="3"/></port>`

/** The record of the issue's /24 × 50-port scan: nmap's XML and a parsed result of the same facts. */
const scanRecord = () => {
  const ports = Array.from({ length: PORTS }, (_, i) => 20000 + i)
  const hosts = Array.from({ length: HOSTS }, (_, h) => ({
    address: `127.0.0.${h}`,
    status: "up",
    hostnames: [],
    ports: ports.map((port) => ({ protocol: "tcp", port, state: "open", reason: "syn-ack", service: { name: "unknown" } }))
  }))
  const stdout = `<?xml version="1.0"?><nmaprun scanner="nmap" args="nmap -n -sT -Pn -p 20000-20049 -oX - 127.0.0.0/24">${
    hosts.map((h) =>
      `<host><status state="up" reason="user-set"/><address addr="${h.address}" addrtype="ipv4"/><ports>${
        ports.map(portXml).join("")
      }</ports></host>\n`
    ).join("")
  }<runstats><finished elapsed="1.31"/><hosts up="256" down="0" total="256"/></runstats></nmaprun>`
  const structured = { hosts, stats: { up: HOSTS, down: 0, total: HOSTS, elapsed: 1.31 } }
  const summary = `256 hosts 127.0.0.0–127.0.0.255: tcp/20000–20049 open\n`.repeat(20)
  return { stdout, structured, summary }
}

const startOf = (scanId: string, now: number): ScanStart => ({
  scan_id: scanId,
  tool: "NmapTool",
  caller_id: "bench",
  correlation_id: scanId,
  target: "127.0.0.0/24",
  resolved_target: "127.0.0.0/24",
  argv: ["nmap", "-n", "-sT", "-Pn", "-p", "20000-20049", "-oX", "-", "127.0.0.0/24"],
  args: ["-sT", "-Pn", "-p", "20000-20049"],
  template: null,
  intrusive: false,
  notes: [],
  started_at_ms: now
})

const endOf = (record: ReturnType<typeof scanRecord>, now: number): ScanEnd => ({
  outcome: "succeeded",
  finished_at_ms: now,
  execution_time: 1.31,
  returncode: 0,
  signal: null,
  timed_out: false,
  error: null,
  error_type: null,
  truncated_stdout: false,
  truncated_stderr: false,
  parse_status: "complete",
  structured: record.structured,
  summary: record.summary,
  stdout: record.stdout,
  stderr: ""
})

const services = (storage: Record<string, unknown>) =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      StorageLive({ configFile: undefined }).pipe(Layer.provideMerge(ConfigService.layerWith({ storage })))
    )
    const database = Context.get(context, Database)
    yield* database.ready.pipe(
      Effect.timeoutFail({
        duration: Duration.seconds(10),
        onTimeout: () => new BenchFailed({ step: "store", message: `the ${database.info.backend} store did not open` })
      })
    )
    return { store: Context.get(context, ScanStore), recorder: Context.get(context, ScanRecorder) }
  })

/** One scan as the recorder writes it: the running row, then the finished one. */
const writeScan = (store: ScanStore["Type"], record: ReturnType<typeof scanRecord>) =>
  Effect.map(makeUlidGenerator, (nextId) =>
    Effect.gen(function*() {
      const start = startOf(yield* nextId, Date.now())
      yield* store.begin(start)
      yield* store.finish(start, endOf(record, Date.now()))
    }))

type Timer = () => Promise<void>

/** Alternates our write and the baseline's, so drift in the machine hits both alike; returns milliseconds per write. */
const alternate = (ours: Effect.Effect<void, unknown>, baseline: Timer) =>
  Effect.gen(function*() {
    const samples = { ours: [] as Array<number>, baseline: [] as Array<number> }
    // Stalls of the event loop while our writes run: what other requests of the server would wait.
    const stall = monitorEventLoopDelay({ resolution: 1 })
    for (let i = 0; i < WARMUP + RUNS; i++) {
      if (i >= WARMUP) stall.enable()
      const t0 = performance.now()
      yield* ours
      const t1 = performance.now()
      stall.disable()
      yield* Effect.promise(baseline)
      const t2 = performance.now()
      if (i >= WARMUP) {
        samples.ours.push(t1 - t0)
        samples.baseline.push(t2 - t1)
      }
    }
    return {
      ours: summarize(samples.ours),
      baseline: summarize(samples.baseline),
      stallMs: { p99: stall.percentile(99) / 1e6, max: stall.max / 1e6 }
    }
  })

const sqliteBench = (record: ReturnType<typeof scanRecord>) =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "mcp-bench-store-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const { recorder, store } = yield* services({ path: join(dir, "ours") })
    const bare = yield* Effect.acquireRelease(
      Effect.sync(() => new Sqlite(join(dir, "bare.sqlite"))),
      (db) => Effect.sync(() => db.close())
    )
    bare.pragma("journal_mode = WAL")
    bare.pragma("synchronous = NORMAL")
    bare.exec("CREATE TABLE scans (id TEXT PRIMARY KEY, structured TEXT, stdout TEXT)")
    const insert = bare.prepare("INSERT INTO scans VALUES (?, ?, ?)")
    const write = yield* writeScan(store, record)
    let n = 0
    const baseline = async () => void insert.run(`bare-${n++}`, JSON.stringify(record.structured), record.stdout)
    const timed = yield* alternate(write, baseline)
    const path = yield* scanPathCost(recorder, record)
    return { ...timed, path }
  })

const PATH_RUNS = 200
const PATH_BATCH = 25

/**
 * Milliseconds the executor spends recording a scan: `begin` and `finish`
 * only queue. The queue is flushed every few scans, so most samples are taken
 * while the writes of earlier ones are running, as on a busy server.
 */
const scanPathCost = (recorder: ScanRecorder["Type"], record: ReturnType<typeof scanRecord>) =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    const { scan_id: _, started_at_ms: __, ...input } = startOf("", 0)
    const { finished_at_ms: ___, ...end } = endOf(record, 0)
    for (let i = 0; i < PATH_RUNS; i++) {
      const t0 = performance.now()
      const id = yield* recorder.begin(input)
      if (id._tag === "Some") yield* recorder.finish(id.value, end)
      samples.push(performance.now() - t0)
      if (i % PATH_BATCH === PATH_BATCH - 1) yield* recorder.flush
    }
    return summarize(samples)
  })

const adminSql = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(
    Effect.provide(
      Layer.scoped(SqlClient.SqlClient, PgClient.make({ url: Redacted.make(PG_ADMIN_URL), connectTimeout: Duration.seconds(3) }))
        .pipe(Layer.provide(Reactivity.layer))
    )
  )

const postgresBench = (record: ReturnType<typeof scanRecord>) =>
  Effect.gen(function*() {
    const name = `mcp_bench_${process.pid}_${Date.now().toString(36)}`
    yield* Effect.acquireRelease(
      adminSql((sql) => sql.unsafe(`CREATE DATABASE ${name}`)),
      () => adminSql((sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.ignore)
    )
    const url = new URL(PG_ADMIN_URL)
    url.pathname = `/${name}`
    const { store } = yield* services({ url: url.toString() })
    const bareContext = yield* Layer.build(
      Layer.scoped(SqlClient.SqlClient, PgClient.make({ url: Redacted.make(url.toString()) })).pipe(Layer.provide(Reactivity.layer))
    )
    const bare = Context.get(bareContext, SqlClient.SqlClient)
    yield* bare.unsafe("CREATE TABLE bare_scans (id TEXT PRIMARY KEY, structured TEXT, stdout TEXT)")
    const write = yield* writeScan(store, record)
    let n = 0
    const baseline = () =>
      Effect.runPromise(
        bare.unsafe("INSERT INTO bare_scans VALUES ($1, $2, $3)", [`bare-${n++}`, JSON.stringify(record.structured), record.stdout])
          .pipe(Effect.asVoid)
      )
    return yield* alternate(write, baseline)
  })

export interface StoreBenchResult {
  readonly rows: ReadonlyArray<Row>
  readonly details: Record<string, unknown>
}

const writeRows = (
  backend: string,
  baselineLabel: string,
  r: { ours: { median: number; p99: number }; baseline: { median: number; p99: number } }
): ReadonlyArray<Row> => [
  {
    name: `store write per /24×50 scan, ${backend}, p50`,
    unit: "ms",
    ours: r.ours.median,
    baseline: r.baseline.median,
    baselineLabel,
    target: null
  },
  {
    name: `store write per /24×50 scan, ${backend}, p99`,
    unit: "ms",
    ours: r.ours.p99,
    baseline: r.baseline.p99,
    baselineLabel,
    target: null
  }
]

export const storeBench: Effect.Effect<StoreBenchResult, unknown, Scope.Scope> = Effect.gen(function*() {
  const record = scanRecord()
  const sqlite = yield* sqliteBench(record)
  const pg = yield* Effect.either(Effect.scoped(postgresBench(record)))
  const rows: Array<Row> = [
    ...writeRows("SQLite", "bare better-sqlite3 insert", sqlite),
    {
      name: "recording on the scan path (queue only), p99",
      unit: "ms",
      ours: sqlite.path.p99,
      baseline: sqlite.baseline.p99,
      baselineLabel: "bare insert inline",
      target: { on: "ours", max: 5 },
      note: `median ${sqlite.path.median.toFixed(2)} ms; event-loop delay while the SQLite writes ran: p99 ${
        sqlite.stallMs.p99.toFixed(1)
      } ms, max ${sqlite.stallMs.max.toFixed(1)} ms`
    }
  ]
  if (pg._tag === "Right") rows.push(...writeRows("PostgreSQL", "bare INSERT, same driver", pg.right))
  else process.stderr.write(`bench: PostgreSQL store rows skipped, no server at MCP_BENCH_PG_URL: ${String(pg.left)}\n`)
  return {
    rows,
    details: {
      record: {
        hosts: HOSTS,
        ports: HOSTS * PORTS,
        stdoutBytes: Buffer.byteLength(record.stdout),
        structuredBytes: JSON.stringify(record.structured).length
      },
      runs: RUNS,
      sqlite: {
        ours: rounded(sqlite.ours),
        baseline: rounded(sqlite.baseline),
        scanPath: rounded(sqlite.path),
        stallMs: sqlite.stallMs
      },
      postgres: pg._tag === "Right"
        ? { ours: rounded(pg.right.ours), baseline: rounded(pg.right.baseline), stallMs: pg.right.stallMs }
        : { skipped: String(pg.left) }
    }
  }
})
