import { Schema } from "effect"
import { readOnlyProbe } from "./specHelpers.js"
import { bufferedStream, defaultResultLimits, parseWithStream } from "./stream.js"
import { summaryBudget } from "./summary/budget.js"
import type { SummaryOptions, ToolSpec } from "./ToolSpec.js"

export const PingResult = Schema.Struct({
  destination: Schema.optional(Schema.String),
  transmitted: Schema.Number,
  received: Schema.Number,
  duplicates: Schema.Number,
  errors: Schema.Number,
  loss_percent: Schema.Number,
  time_ms: Schema.optional(Schema.Number),
  rtt_ms: Schema.optional(Schema.Struct({ min: Schema.Number, avg: Schema.Number, max: Schema.Number, mdev: Schema.Number })),
  replies: Schema.Array(
    Schema.Struct({ from: Schema.String, seq: Schema.Number, ttl: Schema.optional(Schema.Number), time_ms: Schema.optional(Schema.Number) })
  ),
  /** ICMP errors and other per-packet lines, e.g. "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable". */
  messages: Schema.Array(Schema.String)
}).annotations({ title: "PingResult" })
export type PingResult = typeof PingResult.Type

const num = (s: string | undefined): number | undefined => {
  if (s === undefined) return undefined
  const n = Number(s)
  return Number.isFinite(n) ? n : undefined
}

/** Parses iputils ping output (also `-q`, which has no reply lines). */
export const parsePing = (stdout: string): PingResult => {
  const lines = stdout.split("\n")
  const destination = /^PING \S+ \(([^)]+)\)/m.exec(stdout)?.[1]
  const stats =
    /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?(?:, \+(\d+) errors)?, ([\d.]+)% packet loss(?:, time (\d+)ms)?/
      .exec(stdout)
  const rtt = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/.exec(stdout)
  const replies: Array<PingResult["replies"][number]> = []
  const messages: Array<string> = []
  for (const line of lines) {
    const reply = /^\d+ bytes from ([^:]+): icmp_seq=(\d+)(?: ttl=(\d+))?(?: time=([\d.]+) ms)?/.exec(line)
    if (reply !== null) {
      replies.push({ from: reply[1] ?? "", seq: Number(reply[2]), ttl: num(reply[3]), time_ms: num(reply[4]) })
    } else if (/^From \S+/.test(line)) {
      messages.push(line.trim())
    }
  }
  return {
    destination,
    transmitted: num(stats?.[1]) ?? 0,
    received: num(stats?.[2]) ?? 0,
    duplicates: num(stats?.[3]) ?? 0,
    errors: num(stats?.[4]) ?? 0,
    loss_percent: num(stats?.[5]) ?? 100,
    time_ms: num(stats?.[6]),
    rtt_ms: rtt === null ? undefined : { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]), mdev: Number(rtt[4]) },
    replies,
    messages
  }
}

export const summarizePing = (r: PingResult, options: SummaryOptions = { tokens: defaultResultLimits.summaryTokens }): string => {
  const extras = [r.duplicates > 0 ? `${r.duplicates} duplicates` : "", r.errors > 0 ? `${r.errors} errors` : ""].filter((e) => e !== "")
  const head = `${r.destination ?? "?"}: ${r.received}/${r.transmitted} replies, ${r.loss_percent}% loss${
    extras.length > 0 ? `, ${extras.join(", ")}` : ""
  }`
  const rtt = r.rtt_ms === undefined ? "" : `, rtt min/avg/max/mdev ${r.rtt_ms.min}/${r.rtt_ms.avg}/${r.rtt_ms.max}/${r.rtt_ms.mdev} ms`
  const ttls = [...new Set(r.replies.map((p) => p.ttl).filter((t) => t !== undefined))]
  const ttl = ttls.length > 0 ? `, ttl ${ttls.join("/")}` : ""
  const budget = summaryBudget(options.tokens)
  budget.must(`${head}${rtt}${ttl}`)
  for (const m of r.messages) budget.offer(m, "ICMP messages")
  return budget.text(options.resource)
}

const pingStream = bufferedStream((stdout) => parsePing(stdout), summarizePing)

export const pingSpec: ToolSpec<PingResult> = {
  name: "PingTool",
  title: "Ping (ICMP echo)",
  description:
    "Checks whether a host answers ICMP echo and measures round-trip times (iputils ping, numeric output). Exit code 1 (no reply) is a result, not a failure.",
  binary: "ping",
  versionArgs: ["-V"],
  flags: [
    { name: "-c", value: { _tag: "Int", min: 1, max: 10 }, description: "Number of echo requests (1-10)" },
    { name: "-i", value: { _tag: "Number", min: 0.2, max: 10 }, description: "Seconds between requests (0.2-10)" },
    { name: "-W", value: { _tag: "Number", min: 0.1, max: 10 }, description: "Seconds to wait for each reply" },
    { name: "-w", value: { _tag: "Int", min: 1, max: 60 }, description: "Deadline in seconds for the whole run" },
    {
      name: "-s",
      value: { _tag: "Int", min: 0, max: 1472 },
      description: "Payload size in bytes (at most 1472, one unfragmented Ethernet frame)"
    },
    { name: "-t", value: { _tag: "Int", min: 1, max: 255 }, description: "IP time to live" },
    { name: "-q", value: { _tag: "None" }, description: "Only the summary, no per-reply lines" }
  ],
  templates: [{ name: "quick", description: "Three requests, 0.2 s apart", args: ["-c", "3", "-i", "0.2", "-W", "1"] }],
  // Without -c ping never ends; -c 4 comes first so a caller's -c overrides it.
  fixedArgs: ["-n", "-c", "4"],
  target: { kind: "host", toArgs: (pinned) => [pinned] },
  intrusive: false,
  defaultTimeoutSeconds: 30,
  defaultConcurrency: 5,
  okExitCodes: [1],
  annotations: readOnlyProbe,
  outputSchema: PingResult,
  parse: parseWithStream(pingStream),
  stream: pingStream,
  summarize: summarizePing
}
