import type { FlagSpec, FlagValue } from "../../policy/flags.js"

/**
 * The nmap flags a caller may pass: what an agent needs to discover hosts,
 * ports, services and OS, tune timing, and run vetted NSE scripts. Every
 * valued flag takes its value as the next token (nmap's required-argument
 * options), so the checked value is exactly what nmap reads.
 *
 * Intrusive: `-A` (OS detection, version probing, default scripts and
 * traceroute at once, per the product's definition) and scripts from
 * intrusive categories (see `src/policy/nse.ts`). `-sC` is not: it runs the
 * `default` category, which nmap curates to be safe to run unattended.
 * Privileged: anything that needs raw sockets (SYN/UDP scans, OS detection
 * and its options, ICMP and UDP host discovery, traceroute); the spec's
 * unprivileged rewrite is derived from these marks.
 */

const none: FlagValue = { _tag: "None" }
const int = (min: number, max: number): FlagValue => ({ _tag: "Int", min, max })
const num = (min: number, max: number): FlagValue => ({ _tag: "Number", min, max })
const time = (minMs: number, maxMs: number): FlagValue => ({ _tag: "Duration", minMs, maxMs })

const HOUR = 3_600_000

/** `--min-rate` forces a packet rate regardless of the network; above this it floods small lab hosts. */
const MAX_MIN_RATE = 1000
const MAX_RATE = 10_000

export const nmapFlags: ReadonlyArray<FlagSpec> = [
  { name: "-sT", value: none, description: "TCP connect scan (no privileges needed)" },
  { name: "-sS", value: none, description: "TCP SYN scan", privileged: true },
  { name: "-sU", value: none, description: "UDP scan", privileged: true },
  { name: "-sA", value: none, description: "TCP ACK scan (firewall rule mapping)", privileged: true },
  { name: "-sn", value: none, description: "Host discovery only, no port scan" },
  { name: "-sV", value: none, description: "Probe open ports for service and version" },
  { name: "-sC", value: none, description: "Run the default NSE scripts (same as --script default)" },
  { name: "-O", value: none, description: "OS detection", privileged: true },
  {
    name: "-A",
    value: none,
    description: "OS detection, version detection, default scripts and traceroute",
    intrusive: true,
    privileged: true
  },
  { name: "-Pn", value: none, description: "Skip host discovery; treat the host as up" },
  { name: "-PE", value: none, description: "ICMP echo host discovery", privileged: true },
  { name: "-PP", value: none, description: "ICMP timestamp host discovery", privileged: true },
  { name: "-PS", value: none, description: "TCP SYN host discovery (default port 80)" },
  { name: "-PA", value: none, description: "TCP ACK host discovery (default port 80)" },
  { name: "-PU", value: none, description: "UDP host discovery, default port 40125", privileged: true },
  { name: "--disable-arp-ping", value: none, description: "No ARP or IPv6 neighbour discovery on local networks" },
  { name: "-n", value: none, description: "Never do reverse DNS resolution" },
  { name: "-R", value: none, description: "Always do reverse DNS resolution" },
  { name: "-F", value: none, description: "Fast mode: the 100 most common ports" },
  { name: "-r", value: none, description: "Scan ports in order instead of randomly" },
  { name: "-p", value: { _tag: "Ports", maxRanges: 64 }, description: "Ports to scan, e.g. 22,80,443,8000-8100,U:53" },
  { name: "--top-ports", value: int(1, 65535), description: "Scan the N most common ports" },
  { name: "--exclude-ports", value: { _tag: "Ports", maxRanges: 64 }, description: "Ports to leave out" },
  { name: "--version-intensity", value: int(0, 9), description: "Version probe intensity, 0 (light) to 9 (all probes)" },
  { name: "--version-light", value: none, description: "Version detection with intensity 2" },
  { name: "--version-all", value: none, description: "Version detection with every probe (intensity 9)" },
  { name: "--osscan-limit", value: none, description: "With -O: OS detection only on promising hosts", privileged: true },
  { name: "--osscan-guess", value: none, description: "With -O: guess the OS more aggressively", privileged: true },
  { name: "-T0", value: none, description: "Timing template paranoid" },
  { name: "-T1", value: none, description: "Timing template sneaky" },
  { name: "-T2", value: none, description: "Timing template polite" },
  { name: "-T3", value: none, description: "Timing template normal (nmap's default)" },
  { name: "-T4", value: none, description: "Timing template aggressive (fast, reliable networks)" },
  { name: "-T5", value: none, description: "Timing template insane" },
  {
    name: "-T",
    value: { _tag: "Enum", values: ["0", "1", "2", "3", "4", "5", "paranoid", "sneaky", "polite", "normal", "aggressive", "insane"] },
    description: "Timing template by number or name"
  },
  { name: "--max-retries", value: int(0, 10), description: "Retransmissions per port probe" },
  { name: "--host-timeout", value: time(1000, 24 * HOUR), description: "Give up on the host after this long, e.g. 10m" },
  { name: "--scan-delay", value: time(0, 10_000), description: "Delay between probes, e.g. 200ms" },
  { name: "--max-scan-delay", value: time(0, 10_000), description: "Upper bound for the adaptive probe delay" },
  { name: "--initial-rtt-timeout", value: time(10, 10_000), description: "Initial probe round-trip timeout" },
  { name: "--min-rtt-timeout", value: time(10, 10_000), description: "Lower bound for the probe round-trip timeout" },
  { name: "--max-rtt-timeout", value: time(10, 10_000), description: "Upper bound for the probe round-trip timeout" },
  { name: "--max-rate", value: num(0.1, MAX_RATE), description: `Send at most N packets per second (up to ${MAX_RATE})` },
  { name: "--min-rate", value: num(0.1, MAX_MIN_RATE), description: `Send at least N packets per second (up to ${MAX_MIN_RATE})` },
  { name: "--max-parallelism", value: int(1, 256), description: "At most N probes in flight" },
  { name: "--min-parallelism", value: int(1, 100), description: "At least N probes in flight" },
  { name: "--max-hostgroup", value: int(1, 1024), description: "Scan at most N hosts in parallel" },
  { name: "--min-hostgroup", value: int(1, 1024), description: "Scan at least N hosts in parallel" },
  { name: "--defeat-rst-ratelimit", value: none, description: "With -sS: ignore RST rate limiting", privileged: true },
  { name: "--script", value: { _tag: "Scripts" }, description: "NSE scripts or categories from the allow-list, comma-separated" },
  { name: "--traceroute", value: none, description: "Trace the network path to the host", privileged: true },
  { name: "--open", value: none, description: "Show only open (or possibly open) ports" },
  { name: "--reason", value: none, description: "Show why each port has its state" },
  { name: "-v", value: none, description: "More verbose output" },
  { name: "-d", value: none, description: "Debugging output" }
]
