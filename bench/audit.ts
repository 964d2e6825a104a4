import { Context, Effect, Layer, Runtime } from "effect"
import { mkdtempSync, rmSync, statSync } from "node:fs"
import { appendFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigService } from "../src/config/ConfigService.js"
import { type AuditEntry, auditLine, AuditLog } from "../src/observability/AuditLog.js"
import { executeBody } from "./http.js"
import type { Row } from "./report.js"
import { rounded, summarize, type Summary } from "./stats.js"

/**
 * 6. The audit log under 1,000 concurrent writers (one in ten intrusive, so
 *    fsync'ed), against 1,000 concurrent plain `appendFile` calls of the same
 *    lines in the same process: per-call latency and peak RSS growth. The
 *    baseline has no ordering, durability or disk-full guarantees; the figure
 *    shows what the single writer with group commit costs on top of the file
 *    system. Also the audit bytes one rejected call costs, against the bytes
 *    of the request that caused it.
 */

const WRITERS = 1000
const ROUNDS = 5

const entry = (i: number): AuditEntry => ({
  caller: { id: "bench-key", transport: "http", address: "127.0.0.1" },
  tool: "NmapTool",
  target: "127.0.0.1",
  resolvedTarget: "127.0.0.1",
  argv: ["/usr/bin/nmap", "-oX", "-", "-n", "--stats-every", "5s", "-sT", "-p", "1-1024", "127.0.0.1"],
  decision: "allowed",
  outcome: "success",
  durationSeconds: 0.123,
  intrusive: i % 10 === 0,
  correlationId: `bench-${i}`,
  executionId: `bench-execution-${i}`,
  error: null
})

const rejection = (i: number): AuditEntry => ({
  ...entry(i),
  target: "8.8.8.8",
  resolvedTarget: null,
  argv: [],
  decision: "rejected:TargetRejected",
  outcome: "rejected",
  durationSeconds: 0.0004,
  intrusive: false,
  executionId: undefined,
  error: { tag: "TargetRejected", message: "8.8.8.8 is a public address; only the allowed ranges may be scanned" }
})

interface Round {
  readonly latencies: ReadonlyArray<number>
  readonly peakGrowthMb: number
}

/** Runs `calls` while sampling RSS; returns each call's latency and the peak RSS above the start. */
const measured = (calls: () => Promise<ReadonlyArray<number>>): Promise<Round> =>
  new Promise((resolve, reject) => {
    const start = process.memoryUsage.rss()
    let peak = start
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 2)
    calls().then(
      (latencies) => {
        clearInterval(sampler)
        peak = Math.max(peak, process.memoryUsage.rss())
        resolve({ latencies, peakGrowthMb: (peak - start) / 1024 / 1024 })
      },
      (error) => {
        clearInterval(sampler)
        reject(error)
      }
    )
  })

const timed = async (call: () => Promise<unknown>): Promise<number> => {
  const t0 = performance.now()
  await call()
  return performance.now() - t0
}

const baselineRound = (path: string) =>
  Effect.promise(() =>
    measured(() =>
      Promise.all(Array.from({ length: WRITERS }, (_, i) => timed(() => appendFile(path, auditLine(entry(i), new Date().toISOString())))))
    )
  )

const auditLayer = (path: string) => AuditLog.layer.pipe(Layer.provide(ConfigService.layerWith({ security: { audit_log_path: path } })))

const oursRound = (path: string) =>
  Effect.scoped(Effect.gen(function*() {
    const audit = Context.get(yield* Layer.build(auditLayer(path)), AuditLog)
    const runtime = yield* Effect.runtime<never>()
    const record = (i: number) => Runtime.runPromise(runtime)(audit.record(entry(i)))
    return yield* Effect.promise(() => measured(() => Promise.all(Array.from({ length: WRITERS }, (_, i) => timed(() => record(i))))))
  }))

const median = (values: ReadonlyArray<number>) => summarize(values).median

/** Audit bytes written per rejected call, from 1,000 rejection lines. */
const bytesPerRejection = (path: string) =>
  Effect.scoped(Effect.gen(function*() {
    const audit = Context.get(yield* Layer.build(auditLayer(path)), AuditLog)
    yield* Effect.forEach(Array.from({ length: WRITERS }, (_, i) => i), (i) => audit.record(rejection(i)), { concurrency: 50 })
    // A refusal's line joins a batch without its caller waiting: the size counts once they are all written.
    yield* audit.flush
    return statSync(path).size / WRITERS
  }))

export const auditBench = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "bench-audit-"))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )
  const ours: Array<Round> = []
  const baseline: Array<Round> = []
  // Interleaved, so drift in the machine's load touches both alike.
  for (let round = 0; round < ROUNDS; round++) {
    baseline.push(yield* baselineRound(join(dir, `baseline-${round}.jsonl`)))
    ours.push(yield* oursRound(join(dir, `ours-${round}.jsonl`)))
  }
  const summaries = (rounds: ReadonlyArray<Round>): ReadonlyArray<Summary> => rounds.map((r) => summarize(r.latencies))
  const o = summaries(ours)
  const b = summaries(baseline)
  const rejectionBytes = yield* bytesPerRejection(join(dir, "rejections.jsonl"))
  const requestBytes = Buffer.byteLength(executeBody("8.8.8.8"))
  const label = `plain appendFile ×${WRITERS}`
  const rows: ReadonlyArray<Row> = [
    {
      name: `audit: ${WRITERS} concurrent writers, median latency`,
      unit: "ms",
      ours: median(o.map((s) => s.median)),
      baseline: median(b.map((s) => s.median)),
      baselineLabel: label,
      target: null
    },
    {
      name: `audit: ${WRITERS} concurrent writers, p99 latency`,
      unit: "ms",
      ours: median(o.map((s) => s.p99)),
      baseline: median(b.map((s) => s.p99)),
      baselineLabel: label,
      target: null
    },
    {
      name: `audit: ${WRITERS} concurrent writers, peak RSS growth`,
      unit: "MB",
      ours: median(ours.map((r) => r.peakGrowthMb)),
      baseline: median(baseline.map((r) => r.peakGrowthMb)),
      baselineLabel: label,
      target: null,
      note: "one in ten lines intrusive (fsync'ed, one fsync per batch); the baseline neither orders nor syncs"
    },
    {
      name: "audit bytes per rejected call",
      unit: "B",
      ours: rejectionBytes,
      baseline: requestBytes,
      baselineLabel: "bytes of the request",
      target: null
    }
  ]
  const details = {
    writers: WRITERS,
    rounds: ROUNDS,
    ours: o.map((s) => rounded(s)),
    baseline: b.map((s) => rounded(s)),
    oursPeakRssGrowthMb: ours.map((r) => Number(r.peakGrowthMb.toFixed(1))),
    baselinePeakRssGrowthMb: baseline.map((r) => Number(r.peakGrowthMb.toFixed(1))),
    bytesPerRejection: Number(rejectionBytes.toFixed(1)),
    requestBytes
  }
  return { rows, details }
})
