import { Effect, Option } from "effect"
import type { ScanRecorderService } from "../../src/storage/ScanRecorder.js"
import { parseNmapXml } from "../../src/tools/nmap/parseXml.js"
import { summarizeNmap } from "../../src/tools/nmap/summary.js"
import { endOf } from "../storage/support.js"
import { nmapXml } from "../tools/nmap/generate.js"

/**
 * Stored scans written straight through the recorder, as the executor would
 * write them, for tests of the readers (REST, MCP resources) that run no
 * tool: an nmap result of 127.0.0.1 with the given open ports.
 */
export const seedScan = (
  scans: ScanRecorderService,
  options: { readonly callerId: string; readonly open: ReadonlyArray<number>; readonly target?: string }
): Effect.Effect<string> =>
  Effect.gen(function*() {
    const target = options.target ?? "127.0.0.1"
    const stdout = nmapXml([{ address: "127.0.0.1", open: options.open }])
    const structured = parseNmapXml(stdout)
    const scanId = Option.getOrThrow(
      yield* scans.begin({
        tool: "NmapTool",
        caller_id: options.callerId,
        correlation_id: `seed-${options.open.join("-")}`,
        target,
        resolved_target: target,
        argv: ["nmap", "-oX", "-", "-n", "-sT", target],
        args: ["-sT"],
        template: null,
        intrusive: false,
        notes: []
      })
    )
    yield* scans.finish(
      scanId,
      endOf({ execution_time: 0.1, structured, summary: summarizeNmap(structured, { tokens: 1500, resource: `scan://${scanId}` }), stdout })
    )
    yield* scans.flush
    return scanId
  })
