import { Schema } from "effect"
import type { FlagSpec } from "../policy/flags.js"
import { readOnlyProbe, unprivilegedRewrite } from "./specHelpers.js"
import { bufferedStream, defaultResultLimits, parseWithStream } from "./stream.js"
import { summaryBudget } from "./summary/budget.js"
import type { SummaryOptions, ToolSpec } from "./ToolSpec.js"

const Probe = Schema.Struct({
  /** Absent for a probe that got no answer (`*`). */
  address: Schema.optional(Schema.String),
  rtt_ms: Schema.optional(Schema.Number),
  /** traceroute's marks such as `!H` (host unreachable), `!N`, `!X`, `!<n>`. */
  annotation: Schema.optional(Schema.String)
})

export const TracerouteResult = Schema.Struct({
  destination: Schema.optional(Schema.String),
  max_hops: Schema.optional(Schema.Number),
  hops: Schema.Array(Schema.Struct({ hop: Schema.Number, probes: Schema.Array(Probe) })),
  /** Whether the last hop answered from the destination address. */
  reached: Schema.Boolean
}).annotations({ title: "TracerouteResult" })
export type TracerouteResult = typeof TracerouteResult.Type
type Probe = typeof Probe.Type

const address = /^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]*)$/

/** Parses `traceroute -n` output: each hop line holds addresses, `N ms` times, `*` and `!X` marks. */
export const parseTraceroute = (stdout: string): TracerouteResult => {
  const header = /^traceroute to \S+ \(([^)]+)\), (\d+) hops max/m.exec(stdout)
  const hops: Array<TracerouteResult["hops"][number]> = []
  for (const line of stdout.split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line)
    if (m === null) continue
    const tokens = (m[2] ?? "").trim().split(/\s+/)
    const probes: Array<Probe> = []
    let current: string | undefined
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] ?? ""
      if (token === "*") {
        probes.push({})
      } else if (address.test(token)) {
        current = token
      } else if (tokens[i + 1] === "ms" && Number.isFinite(Number(token))) {
        probes.push({ address: current, rtt_ms: Number(token) })
        i++
      } else if (token.startsWith("!")) {
        const last = probes.pop()
        probes.push({ ...(last ?? { address: current }), annotation: token })
      }
    }
    hops.push({ hop: Number(m[1]), probes })
  }
  const destination = header?.[1]
  const last = hops[hops.length - 1]
  return {
    destination,
    max_hops: header?.[2] === undefined ? undefined : Number(header[2]),
    hops,
    reached: destination !== undefined && last !== undefined && last.probes.some((p) => p.address === destination)
  }
}

const probeText = (p: Probe, previous: string | undefined): string => {
  if (p.address === undefined && p.rtt_ms === undefined) return "*"
  const who = p.address !== undefined && p.address !== previous ? `${p.address} ` : ""
  return `${who}${p.rtt_ms !== undefined ? `${p.rtt_ms}ms` : ""}${p.annotation !== undefined ? ` ${p.annotation}` : ""}`.trim()
}

export const summarizeTraceroute = (
  r: TracerouteResult,
  options: SummaryOptions = { tokens: defaultResultLimits.summaryTokens }
): string => {
  const head = `traceroute to ${r.destination ?? "?"}: ${r.hops.length} hop${r.hops.length === 1 ? "" : "s"}, ${
    r.reached ? "reached" : "destination not reached"
  }`
  const lines = r.hops.map((h) => {
    let previous: string | undefined
    const parts = h.probes.map((p) => {
      const text = probeText(p, previous)
      if (p.address !== undefined) previous = p.address
      return text
    })
    return `${h.hop} ${parts.join(" ")}`
  })
  const budget = summaryBudget(options.tokens)
  budget.must(head)
  for (const line of lines) budget.offer(line, "hops")
  return budget.text(options.resource)
}

const tracerouteStream = bufferedStream((stdout) => parseTraceroute(stdout), summarizeTraceroute)

const tracerouteFlags: ReadonlyArray<FlagSpec> = [
  { name: "-m", aliases: ["--max-hops"], value: { _tag: "Int", min: 1, max: 30 }, description: "Maximum number of hops (1-30)" },
  { name: "-f", aliases: ["--first"], value: { _tag: "Int", min: 1, max: 30 }, description: "First hop to probe" },
  { name: "-w", aliases: ["--wait"], value: { _tag: "Number", min: 0.1, max: 10 }, description: "Seconds to wait for each answer" },
  { name: "-q", aliases: ["--queries"], value: { _tag: "Int", min: 1, max: 3 }, description: "Probes per hop (1-3)" },
  { name: "-N", aliases: ["--sim-queries"], value: { _tag: "Int", min: 1, max: 16 }, description: "Probes sent at once" },
  {
    name: "-p",
    aliases: ["--port"],
    value: { _tag: "Int", min: 1, max: 65535 },
    description: "Destination port (UDP base port, or the TCP port with -T)"
  },
  { name: "-I", aliases: ["--icmp"], value: { _tag: "None" }, description: "ICMP echo probes", privileged: true },
  { name: "-T", aliases: ["--tcp"], value: { _tag: "None" }, description: "TCP SYN probes", privileged: true },
  { name: "-U", aliases: ["--udp"], value: { _tag: "None" }, description: "UDP probes to one port" }
]

export const tracerouteSpec: ToolSpec<TracerouteResult> = {
  name: "TracerouteTool",
  title: "Traceroute",
  description:
    "Lists the routers on the path to a host with their round-trip times (numeric output, UDP probes by default; -I ICMP and -T TCP SYN need root).",
  binary: "traceroute",
  versionArgs: ["--version"],
  flags: tracerouteFlags,
  templates: [{ name: "quick", description: "At most 15 hops, one probe each, 1 s wait", args: ["-m", "15", "-q", "1", "-w", "1"] }],
  fixedArgs: ["-n"],
  target: { kind: "host", toArgs: (pinned) => [pinned] },
  intrusive: false,
  defaultTimeoutSeconds: 60,
  defaultConcurrency: 3,
  okExitCodes: [],
  annotations: readOnlyProbe,
  outputSchema: TracerouteResult,
  parse: parseWithStream(tracerouteStream),
  stream: tracerouteStream,
  summarize: summarizeTraceroute,
  unprivileged: unprivilegedRewrite({ binary: "traceroute", flags: tracerouteFlags, instead: "; UDP probes used instead" })
}
