import { nmapStreamParser } from "./nmap/parser.js"
import { masscanProgress } from "./nmap/progress.js"
import { NmapRun } from "./nmap/result.js"
import { summarizeNmap } from "./nmap/summary.js"
import { readOnlyProbe } from "./specHelpers.js"
import { parseWithStream } from "./stream.js"
import type { ToolSpec } from "./ToolSpec.js"

/**
 * masscan writes nmap-compatible XML with `-oX -`, so it shares nmap's
 * parser, result schema and summary. It sends raw packets from its own TCP
 * stack: the whole tool is intrusive, the rate is capped, and without root it
 * fails at start with its own message rather than being rewritten. It writes
 * one `<host>` per open port; the parser joins them into one host per address.
 */
// masscan's stderr is a progress ticker, not warnings.
const masscanStream = nmapStreamParser({ stderrWarnings: false, mergeHosts: true })

export const masscanSpec: ToolSpec<NmapRun> = {
  name: "MasscanTool",
  title: "Masscan fast port scanner",
  description: "Asynchronous SYN port scan of a host or network (ports required, e.g. -p 80,443 or --top-ports 100). " +
    "Always intrusive (needs security.allow_intrusive and the intrusive scope); rate capped at 1000 packets/s; needs root.",
  binary: "masscan",
  versionArgs: ["--version"],
  flags: [
    {
      name: "-p",
      aliases: ["--ports"],
      value: { _tag: "Ports", maxRanges: 100 },
      description: "Ports to scan, e.g. 22,80,8000-8100 (U: for UDP)"
    },
    { name: "--top-ports", value: { _tag: "Int", min: 1, max: 1000 }, description: "Scan the N most common ports" },
    { name: "--rate", value: { _tag: "Int", min: 1, max: 1000 }, description: "Packets per second (at most 1000)" },
    { name: "--wait", value: { _tag: "Int", min: 0, max: 30 }, description: "Seconds to wait for late answers after sending" },
    { name: "--retries", value: { _tag: "Int", min: 0, max: 3 }, description: "Retransmissions per probe" },
    { name: "--banners", value: { _tag: "None" }, description: "Grab banners from open ports (needs a spare source IP to work reliably)" },
    { name: "--ping", value: { _tag: "None" }, description: "Also send ICMP echo" }
  ],
  templates: [
    {
      name: "quick",
      description: "The 100 most common ports at 100 packets/s",
      args: ["--top-ports", "100", "--rate", "100", "--wait", "3"]
    }
  ],
  // A rate stated up front: a caller's --rate comes later and wins, within its cap.
  fixedArgs: ["-oX", "-", "--rate", "100"],
  target: { kind: "network", toArgs: (pinned) => [pinned] },
  intrusive: true,
  defaultTimeoutSeconds: 300,
  defaultConcurrency: 1,
  okExitCodes: [],
  annotations: readOnlyProbe,
  outputSchema: NmapRun,
  parse: parseWithStream(masscanStream),
  stream: masscanStream,
  summarize: summarizeNmap,
  progress: masscanProgress
}
