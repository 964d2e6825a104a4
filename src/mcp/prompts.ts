import type { GetPromptResult, Prompt, ResourceTemplate } from "@modelcontextprotocol/sdk/types.js"
import type { ToolInfo } from "../execution/ToolExecutor.js"

/**
 * Workflows as MCP prompts: each becomes a plan of tool calls written out
 * for the model, with the exact arguments (tests run every step's arguments
 * through the real argument policy). A prompt is offered only when the tools
 * it needs are listed, and a step that needs an optional tool or resource
 * (TLS probing, the scan store's ScanDiff tool and `diff://` resources) is
 * included only when it is there, so the plan is right for this server now.
 */

/** One step of a plan: a tool call with its arguments. */
export interface PlanStep {
  readonly tool: string
  readonly target: string
  readonly args?: ReadonlyArray<string>
  readonly template?: string
  /** Why the step is there and what to look for in its result. */
  readonly why: string
}

/** What a prompt's plan may use: the tools listed to the session and the resource templates served. */
export interface PromptEnv {
  readonly tools: ReadonlyArray<ToolInfo>
  readonly resourceTemplates: ReadonlyArray<ResourceTemplate>
  /** Tools of the server itself listed beside the process tools (ScanDiff while the scan store is enabled). */
  readonly serverTools?: ReadonlyArray<string>
}

export interface PromptSpec {
  readonly prompt: Prompt
  /** Tools without which the prompt is not offered. */
  readonly needs: ReadonlyArray<string>
  readonly render: (args: Readonly<Record<string, string>>, env: PromptEnv) => string
}

const has = (env: PromptEnv, tool: string) => env.tools.some((t) => t.name === tool) || (env.serverTools ?? []).includes(tool)

const call = (step: PlanStep): string => {
  const input = {
    target: step.target,
    ...(step.args === undefined ? {} : { args: step.args }),
    ...(step.template === undefined ? {} : { template: step.template })
  }
  return `${step.tool} ${JSON.stringify(input)}: ${step.why}`
}

const numbered = (steps: ReadonlyArray<string>) => steps.map((s, i) => `${i + 1}. ${s}`).join("\n")

const CITE = "Quote each result's correlation_id, and its scan resource link when the result carries one, so the findings can be traced."

/** The host of a `host`, `host:port` or URL target, for tools that take a host. */
const hostOf = (target: string): string => {
  const url = /^https?:\/\/([^/:]+)/i.exec(target)
  if (url !== null) return url[1]!
  const colon = target.lastIndexOf(":")
  return colon > 0 && !target.includes("::") ? target.slice(0, colon) : target
}

/** The port of a target when it names one: `host:port`, or a URL's port or scheme. */
const portOf = (target: string): string | undefined => {
  const explicit = /^(?:https?:\/\/)?[^/]+:(\d{1,5})(?:\/|$)/i.exec(target)?.[1]
  if (explicit !== undefined) return explicit
  if (/^https:\/\//i.test(target)) return "443"
  if (/^http:\/\//i.test(target)) return "80"
  return undefined
}

export const discoverNetwork: PromptSpec = {
  prompt: {
    name: "discover-network",
    title: "Discover a network",
    description: "Find the hosts that are up in a network, then their open ports and services",
    arguments: [{ name: "network", description: "A CIDR network or host inside the allowed ranges, e.g. 10.0.0.0/24", required: true }]
  },
  needs: ["NmapTool"],
  render: (args) => {
    const network = args["network"] ?? ""
    return [
      `Map what is running on ${network}, using only the security tools of this server.`,
      "",
      numbered([
        call({ tool: "NmapTool", target: network, template: "discovery", why: "lists the hosts that are up, without a port scan." }),
        `For the hosts that are up, one call per host (or per small CIDR that holds several): ${
          call({
            tool: "NmapTool",
            target: "<host>",
            template: "standard",
            why: "the 1000 most common TCP ports with service and version detection."
          })
        }`,
        "Report per host: open ports with service, product and version; then what stands out (remote administration, databases, " +
        "file sharing, outdated versions, services on unusual ports) and which hosts deserve a closer look."
      ]),
      "",
      `Stay inside ${network}: the server refuses targets outside its allowed ranges. ${CITE}`
    ].join("\n")
  }
}

const WEB_SCRIPTS = "http-title,http-headers,http-methods,http-security-headers,http-server-header,ssl-cert"

export const auditWebService: PromptSpec = {
  prompt: {
    name: "audit-web-service",
    title: "Audit a web service",
    description: "Check a web server's software, HTTP headers, methods and TLS configuration",
    arguments: [
      { name: "target", description: "host, host:port or http(s)://host[:port]/path inside the allowed ranges", required: true }
    ]
  },
  needs: ["NmapTool", "HttpProbeTool"],
  render: (args, env) => {
    const target = args["target"] ?? ""
    const host = hostOf(target)
    const port = portOf(target) ?? "80,443,8080,8443"
    const tls = has(env, "TlsProbeTool")
      ? [
        call({
          tool: "TlsProbeTool",
          target: portOf(target) === undefined ? `${host}:443` : `${host}:${portOf(target)}`,
          why: "protocol versions, cipher suites and the certificate, when the service speaks TLS (skip it for plain HTTP)."
        })
      ]
      : []
    return [
      `Audit the web service at ${target} without changing anything on it.`,
      "",
      numbered([
        call({
          tool: "NmapTool",
          target: host,
          args: ["-sV", "-p", port, "--script", WEB_SCRIPTS],
          why: "which ports serve HTTP, the server software and version, titles, headers, allowed methods and certificates."
        }),
        call({ tool: "HttpProbeTool", target, why: "the status, headers and page title as a client sees them; redirects are reported." }),
        ...tls,
        "Report: server software and whether its version is current; missing or weak security headers (Content-Security-Policy, " +
        "Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options); risky methods (PUT, DELETE, TRACE); TLS versions " +
        "below 1.2, weak ciphers, and certificate problems (expired, self-signed, wrong name)."
      ]),
      "",
      CITE
    ].join("\n")
  }
}

const NMAP_TEMPLATES = ["quick", "standard", "thorough", "discovery"]

export const compareWithLastScan: PromptSpec = {
  prompt: {
    name: "compare-with-last-scan",
    title: "Compare with the last scan",
    description: "Scan a target again and say what changed since the previous scan of it",
    arguments: [
      { name: "target", description: "The host or CIDR network scanned before", required: true },
      { name: "template", description: `NmapTool template, the same as last time (${NMAP_TEMPLATES.join(", ")}); standard if not given` }
    ]
  },
  needs: ["NmapTool"],
  render: (args, env) => {
    const target = args["target"] ?? ""
    const template = NMAP_TEMPLATES.includes(args["template"] ?? "") ? args["template"]! : "standard"
    const scan = call({
      tool: "NmapTool",
      target,
      template,
      why: "the current state, with the same arguments as the scan to compare with."
    })
    const diffResource = env.resourceTemplates.find((t) => t.uriTemplate.startsWith("diff://"))
    const compare = has(env, "ScanDiff")
      ? "Call ScanDiff to compare the new scan with the previous scan of the same target and arguments (its input schema says how " +
        "to name them)."
      : diffResource !== undefined
      ? `Read ${diffResource.uriTemplate} with the previous scan and the new one.`
      : "This server keeps no scan history to compare with. If an earlier result for this target is in this conversation, or the " +
        "user provides one, compare the two yourself; otherwise say there is nothing to compare with and keep this result as the baseline."
    return [
      `Find out what changed on ${target} since it was last scanned.`,
      "",
      numbered([
        scan,
        compare,
        "Report the changes first: hosts new or gone, ports opened or closed, services whose product or version changed; then say " +
        "whether any change needs attention (a new remote-administration or database port, a downgrade)."
      ]),
      "",
      CITE
    ].join("\n")
  }
}

export const prompts: ReadonlyArray<PromptSpec> = [discoverNetwork, auditWebService, compareWithLastScan]

/** The prompts whose tools are listed now. */
export const offeredPrompts = (env: PromptEnv): ReadonlyArray<PromptSpec> => prompts.filter((p) => p.needs.every((tool) => has(env, tool)))

/** A prompt as one user message; missing required arguments are for the caller to report. */
export const renderPrompt = (spec: PromptSpec, args: Readonly<Record<string, string>>, env: PromptEnv): GetPromptResult => ({
  description: spec.prompt.description,
  messages: [{ role: "user", content: { type: "text", text: spec.render(args, env) } }]
})

/** Template names a prompt argument can take (for completions). */
export const promptTemplates = NMAP_TEMPLATES
