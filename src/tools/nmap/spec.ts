import type { ToolSpec } from "../ToolSpec.js"
import { nmapFlags } from "./flags.js"
import { parseNmapXml } from "./parseXml.js"
import { scriptArgument } from "../../policy/nse.js"
import { nmapProgress } from "./progress.js"
import { NmapRun } from "./result.js"
import { summarizeNmap } from "./summary.js"

/** Flags that only work with raw sockets and have no unprivileged equivalent; the number says how many value tokens follow. */
const rawOnly: ReadonlyMap<string, { readonly values: number; readonly why: string }> = new Map([
  ["-O", { values: 0, why: "OS detection needs raw sockets" }],
  ["--osscan-guess", { values: 0, why: "OS detection needs raw sockets" }],
  ["--osscan-limit", { values: 0, why: "OS detection needs raw sockets" }],
  ["--max-os-tries", { values: 1, why: "OS detection needs raw sockets" }],
  ["-sU", { values: 0, why: "UDP scans need raw sockets" }],
  ["-sA", { values: 0, why: "ACK scans need raw sockets" }],
  ["-sW", { values: 0, why: "window scans need raw sockets" }],
  ["-sM", { values: 0, why: "Maimon scans need raw sockets" }],
  ["-sN", { values: 0, why: "NULL scans need raw sockets" }],
  ["-sF", { values: 0, why: "FIN scans need raw sockets" }],
  ["-sX", { values: 0, why: "Xmas scans need raw sockets" }],
  ["-sY", { values: 0, why: "SCTP scans need raw sockets" }],
  ["-sZ", { values: 0, why: "SCTP scans need raw sockets" }],
  ["-sO", { values: 0, why: "IP protocol scans need raw sockets" }],
  ["--traceroute", { values: 0, why: "traceroute needs raw sockets" }],
  ["-PE", { values: 0, why: "ICMP pings need raw sockets" }],
  ["-PP", { values: 0, why: "ICMP pings need raw sockets" }],
  ["-PM", { values: 0, why: "ICMP pings need raw sockets" }],
  ["-PR", { values: 0, why: "ARP pings need raw sockets" }],
  ["-f", { values: 0, why: "fragmentation needs raw sockets" }],
  ["--mtu", { values: 1, why: "fragmentation needs raw sockets" }],
  ["--badsum", { values: 0, why: "crafted packets need raw sockets" }],
  ["--ttl", { values: 1, why: "crafted packets need raw sockets" }],
  ["--data-length", { values: 1, why: "crafted packets need raw sockets" }],
  ["--ip-options", { values: 1, why: "crafted packets need raw sockets" }],
  ["-D", { values: 1, why: "decoys need raw sockets" }],
  ["-S", { values: 1, why: "spoofed sources need raw sockets" }],
  ["--send-eth", { values: 0, why: "raw sends need raw sockets" }],
  ["--send-ip", { values: 0, why: "raw sends need raw sockets" }],
  ["--privileged", { values: 0, why: "it would make nmap attempt raw sockets it cannot open" }]
])

/** Ping probes written with their port list attached, e.g. `-PU53` or `-PY80,443`. */
const rawPingPrefixes: ReadonlyArray<string> = ["-PU", "-PY", "-PO"]

const NOT_ROOT = "not running as root"

/**
 * Rewrites a final nmap argument list for a process without raw-socket
 * privileges: a SYN scan becomes a connect scan, `-A` keeps its version and
 * script parts, and what cannot work without raw sockets is dropped, each
 * change with a note, so the scan runs instead of failing with nmap's
 * "requires root privileges".
 */
export const nmapUnprivileged = (args: ReadonlyArray<string>): { readonly args: ReadonlyArray<string>; readonly notes: ReadonlyArray<string> } => {
  const out: Array<string> = []
  const notes: Array<string> = []
  const note = (text: string) => {
    if (!notes.includes(text)) notes.push(text)
  }
  for (let i = 0; i < args.length; i++) {
    const token = args[i] ?? ""
    const name = token.startsWith("--") && token.includes("=") ? token.slice(0, token.indexOf("=")) : token
    const raw = rawOnly.get(name)
    if (token === "-sS") {
      if (!out.includes("-sT")) out.push("-sT")
      note(`-sS replaced by -sT: ${NOT_ROOT}`)
    } else if (token === "-A") {
      for (const implied of ["-sV", "-sC"]) if (!args.includes(implied) && !out.includes(implied)) out.push(implied)
      note(`-A replaced by -sV -sC: OS detection and traceroute need raw sockets and nmap is ${NOT_ROOT}`)
    } else if (raw !== undefined) {
      const inline = name !== token
      const dropped = inline ? [token] : args.slice(i, i + 1 + raw.values)
      if (!inline) i += raw.values
      note(`${dropped.join(" ")} dropped: ${raw.why} (${NOT_ROOT})`)
    } else if (rawPingPrefixes.some((p) => token.startsWith(p))) {
      note(`${token} dropped: this ping probe needs raw sockets (${NOT_ROOT})`)
    } else {
      out.push(token)
    }
  }
  return { args: out, notes }
}

/**
 * Every way of asking for scripts (`--script`, `-sC`, `-A`) becomes one
 * `--script` whose categories are scoped expressions (`scriptArgument`):
 * `-sC` and `-A` would otherwise run the whole default category, including
 * its scripts that talk to third parties.
 */
export const nmapExpand = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
  const out: Array<string> = []
  const scripts: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--script" && i + 1 < args.length) scripts.push(...args[++i]!.split(","))
    else if (arg === "-sC") scripts.push("default")
    else if (arg === "-A") {
      out.push("-sV", "-O", "--traceroute")
      scripts.push("default")
    } else out.push(arg)
  }
  const unique = [...new Set(scripts)]
  return unique.length === 0 ? out : [...out, "--script", scriptArgument(unique)]
}

export const nmapSpec: ToolSpec<NmapRun> = {
  name: "NmapTool",
  title: "Nmap network scanner",
  description:
    "Host discovery, port scanning, service/version detection and NSE scripts with nmap. " +
    "Targets: one IP, host name or CIDR inside the allowed ranges. The server always adds -oX - -n --stats-every 5s " +
    "(XML output parsed into a structured report, no DNS: the target is pinned to the IP that was validated). " +
    "Templates: quick, standard, thorough, discovery. Without root, -sS becomes -sT and raw-socket options are dropped with a note.",
  binary: "nmap",
  versionArgs: ["--version"],
  flags: nmapFlags,
  templates: [
    { name: "quick", description: "Fast scan of the 100 most common ports", args: ["-T4", "-F"] },
    { name: "standard", description: "Top 1000 ports with service/version detection", args: ["-T4", "--top-ports", "1000", "-sV"] },
    {
      name: "thorough",
      // -sC becomes the default category minus its few scripts that reach past the target (see nmapExpand).
      description: "All 65535 TCP ports with version detection and the default scripts; slow",
      args: ["-T4", "-p", "1-65535", "-sV", "-sC"]
    },
    { name: "discovery", description: "Host discovery only (which hosts are up), no port scan", args: ["-sn"] }
  ],
  // No --noninteractive: nmap 7.93 then skips its --stats-every reports, the only progress it gives. It reads no keys anyway:
  // it only listens on /dev/tty, and the runner starts it in a new session without a controlling terminal.
  fixedArgs: ["-oX", "-", "-n", "--stats-every", "5s"],
  // Callers cannot pass -6; an IPv6 target is only scanned with it.
  target: { kind: "network", toArgs: (pinned) => (pinned.includes(":") ? ["-6", pinned] : [pinned]) },
  intrusive: false,
  defaultTimeoutSeconds: 300,
  defaultConcurrency: 2,
  okExitCodes: [],
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  outputSchema: NmapRun,
  parse: (stdout, stderr) => {
    const data = parseNmapXml(stdout, stderr)
    return { data, summary: summarizeNmap(data) }
  },
  unprivileged: nmapUnprivileged,
  expand: nmapExpand,
  progress: nmapProgress
}
