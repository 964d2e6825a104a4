import { scriptArgument } from "../../policy/nse.js"
import { readOnlyProbe, unprivilegedRewrite } from "../specHelpers.js"
import { parseWithStream } from "../stream.js"
import type { ToolSpec } from "../ToolSpec.js"
import { nmapFlags } from "./flags.js"
import { nmapStreamParser } from "./parser.js"
import { nmapProgress } from "./progress.js"
import { NmapRun } from "./result.js"
import { summarizeNmap } from "./summary.js"

/**
 * Without raw sockets nmap quits on most flags the table marks `privileged`
 * ("requires root privileges") and quietly ignores or downgrades the rest, so
 * each is dropped with a note and the scan runs; a SYN scan becomes a connect
 * scan and `-A` keeps its version and script parts.
 */
export const nmapUnprivileged = unprivilegedRewrite({
  binary: "nmap",
  flags: nmapFlags,
  replacements: [
    { flag: "-sS", by: ["-sT"], why: "a SYN scan needs raw sockets" },
    { flag: "-A", by: ["-sV", "-sC"], why: "OS detection and traceroute need raw sockets" }
  ]
})

/**
 * Every way of asking for scripts (`--script`, `-sC`, `-A`) becomes one
 * `--script` whose categories are scoped expressions (`scriptArgument`):
 * `-sC` and `-A` would otherwise run the whole default category, including
 * its scripts that talk to third parties.
 */
const nmapExpand = (args: ReadonlyArray<string>): ReadonlyArray<string> => {
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

const nmapStream = nmapStreamParser({ stderrWarnings: true, mergeHosts: false })

export const nmapSpec: ToolSpec<NmapRun> = {
  name: "NmapTool",
  title: "Nmap network scanner",
  description: "Host discovery, port scanning, service/version detection and NSE scripts with nmap. " +
    "Targets: one IP, host name or CIDR inside the allowed ranges. The server always adds -oX - -n --stats-every 5s " +
    "(XML output parsed into a structured report, no DNS: the target is pinned to the IP that was validated). " +
    "Templates: quick, standard, thorough, discovery. Without root, -sS becomes -sT and raw-socket options are dropped with a note.",
  binary: "nmap",
  versionArgs: ["--version"],
  flags: nmapFlags,
  keyFlags: ["-sT", "-sV", "-sC", "-sn", "-Pn", "-p", "--top-ports", "-F", "-T4", "--script", "--open", "--version-intensity"],
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
  // Four at once, so one agent's burst runs two at a time (its share, tool.client_share) and another agent still gets two.
  defaultConcurrency: 4,
  okExitCodes: [],
  annotations: readOnlyProbe,
  outputSchema: NmapRun,
  parse: parseWithStream(nmapStream),
  stream: nmapStream,
  summarize: summarizeNmap,
  unprivileged: nmapUnprivileged,
  expand: nmapExpand,
  progress: nmapProgress
}
