import { Schema } from "effect"
import { addressFamily } from "../policy/targets.js"
import { readOnlyProbe } from "./specHelpers.js"
import { bufferedStream, defaultResultLimits, parseWithStream } from "./stream.js"
import { summaryBudget } from "./summary/budget.js"
import { fence } from "./summary/fence.js"
import type { SummaryOptions, ToolSpec } from "./ToolSpec.js"
import { bracketed, parseUrlTarget } from "./urlTarget.js"

/**
 * One HTTP(S) request with curl to the pinned address. The target is a URL or
 * host[:port] (see urlTarget.ts); for a host name, `--resolve` maps it to the
 * pinned IP so curl never resolves it again and the Host header and SNI still
 * carry the name. Redirects are reported, never followed (they could lead off
 * the allow-list); no option reads or writes local files, uses a proxy or a
 * config file (`-q` must come first to skip ~/.curlrc), and `-g` turns off
 * URL globbing so one call is one request.
 */

export const HttpProbeResult = Schema.Struct({
  http_version: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  reason: Schema.optional(Schema.String),
  headers: Schema.Array(Schema.Struct({ name: Schema.String, value: Schema.String })),
  /** Interim responses before the final one, e.g. 100 Continue. */
  interim_statuses: Schema.Array(Schema.Number),
  title: Schema.optional(Schema.String),
  server: Schema.optional(Schema.String),
  location: Schema.optional(Schema.String),
  content_type: Schema.optional(Schema.String),
  body_bytes: Schema.Number,
  /** curl's error, e.g. "(7) Failed to connect to 10.0.0.5 port 80 …". */
  error: Schema.optional(Schema.String)
}).annotations({ title: "HttpProbeResult" })
export type HttpProbeResult = typeof HttpProbeResult.Type

const headerBlock = /^HTTP\/[\d.]+ \d{3}[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n/

const decodeHtml = (s: string): string =>
  s.replace(
    /&(amp|lt|gt|quot|#39|#x27|nbsp);/g,
    (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: "\"", "#39": "'", "#x27": "'", nbsp: " " })[e] ?? ""
  )

export const parseCurlResponse = (stdout: string, stderr: string): HttpProbeResult => {
  let rest = stdout
  const blocks: Array<string> = []
  for (let m = headerBlock.exec(rest); m !== null; m = headerBlock.exec(rest)) {
    blocks.push(m[0])
    rest = rest.slice(m[0].length)
  }
  const final = blocks[blocks.length - 1] ?? ""
  const [statusLine = "", ...headerLines] = final.split(/\r?\n/).filter((l) => l !== "")
  const status = /^HTTP\/([\d.]+) (\d{3})(?: (.*))?$/.exec(statusLine)
  const headers = headerLines.flatMap((l) => {
    const i = l.indexOf(":")
    return i <= 0 ? [] : [{ name: l.slice(0, i).trim(), value: l.slice(i + 1).trim() }]
  })
  const header = (name: string) => headers.find((h) => h.name.toLowerCase() === name)?.value
  const title = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(rest)?.[1]
  const error = stderr.split("\n").map((l) => l.trim()).find((l) => l.startsWith("curl: ("))
  return {
    http_version: status?.[1],
    status: status === null ? undefined : Number(status[2]),
    reason: status?.[3]?.trim() || undefined,
    headers,
    interim_statuses: blocks.slice(0, -1).map((b) => Number(/^HTTP\/[\d.]+ (\d{3})/.exec(b)?.[1])),
    title: title === undefined ? undefined : decodeHtml(title.replace(/\s+/g, " ").trim()),
    server: header("server"),
    location: header("location"),
    content_type: header("content-type"),
    body_bytes: Buffer.byteLength(rest),
    error: error?.slice("curl: ".length)
  }
}

const TEXT_CHARS = 200

/** Everything but the status code and curl's own error is the server's choice: the reason phrase, title and headers are fenced. */
export const summarizeHttpProbe = (
  r: HttpProbeResult,
  options: SummaryOptions = { tokens: defaultResultLimits.summaryTokens }
): string => {
  if (r.status === undefined) return r.error !== undefined ? `no response: ${r.error}` : "no response"
  const first = [
    `HTTP/${r.http_version ?? "?"} ${r.status}${r.reason !== undefined ? ` ${fence(r.reason, TEXT_CHARS)}` : ""}`,
    r.title !== undefined ? `title ${fence(r.title, TEXT_CHARS)}` : "",
    `${r.body_bytes} body bytes`
  ].filter((p) => p !== "").join(", ")
  const budget = summaryBudget(options.tokens)
  budget.must(first)
  if (r.error !== undefined) budget.must(`error: ${r.error}`)
  for (const h of r.headers) budget.offer(`header ${fence(`${h.name}: ${h.value}`, TEXT_CHARS)}`, "headers")
  return budget.text(options.resource)
}

const httpStream = bufferedStream(parseCurlResponse, summarizeHttpProbe)

/** Builds curl's target arguments: the URL, plus `--resolve` pinning a host name to the validated address. */
export const httpTargetArgs = (pinned: string, original: string): ReadonlyArray<string> => {
  const t = parseUrlTarget(original) ?? { scheme: "http" as const, host: pinned, port: 80, path: "/" }
  if (addressFamily(t.host) !== undefined) return [`${t.scheme}://${bracketed(pinned)}:${t.port}${t.path}`]
  return ["--resolve", `${t.host}:${t.port}:${bracketed(pinned)}`, `${t.scheme}://${t.host}:${t.port}${t.path}`]
}

const headerValue = /^[A-Za-z0-9-]{1,64}: ?[\x20-\x7e]{0,512}$/

export const httpProbeSpec: ToolSpec<HttpProbeResult> = {
  name: "HttpProbeTool",
  title: "HTTP probe (curl)",
  description:
    "Sends one HTTP(S) request and reports status, headers and page title. Target: host, host:port or http(s)://host[:port]/path " +
    "(the host must be allowed; the connection goes to its validated address). Redirects are reported, not followed.",
  binary: "curl",
  versionArgs: ["--version"],
  flags: [
    { name: "-I", aliases: ["--head"], value: { _tag: "None" }, description: "HEAD request: headers only" },
    { name: "-X", aliases: ["--request"], value: { _tag: "Enum", values: ["GET", "HEAD", "OPTIONS"] }, description: "Request method" },
    { name: "-k", aliases: ["--insecure"], value: { _tag: "None" }, description: "Accept any TLS certificate (self-signed lab hosts)" },
    {
      name: "-A",
      aliases: ["--user-agent"],
      value: { _tag: "Pattern", pattern: /^[A-Za-z0-9 ._/();:+,-]{1,128}$/, description: "a User-Agent string" },
      description: "User-Agent header"
    },
    {
      name: "-H",
      aliases: ["--header"],
      value: { _tag: "Pattern", pattern: headerValue, description: "one 'Name: value' header" },
      description: "Extra request header"
    },
    {
      name: "-r",
      aliases: ["--range"],
      value: { _tag: "Pattern", pattern: /^\d{1,12}-\d{0,12}$/, description: "a byte range such as 0-1023" },
      description: "Fetch only a byte range"
    },
    { name: "-m", aliases: ["--max-time"], value: { _tag: "Number", min: 1, max: 120 }, description: "Seconds the whole request may take" },
    { name: "-v", aliases: ["--verbose"], value: { _tag: "None" }, description: "Connection and TLS details on stderr" },
    { name: "--compressed", value: { _tag: "None" }, description: "Ask for a compressed response" },
    { name: "--http1.1", value: { _tag: "None" }, description: "Use HTTP/1.1" },
    { name: "--http2", value: { _tag: "None" }, description: "Try HTTP/2" },
    { name: "--tlsv1.2", value: { _tag: "None" }, description: "TLS 1.2 or later" },
    { name: "--tlsv1.3", value: { _tag: "None" }, description: "TLS 1.3 only" }
  ],
  templates: [{ name: "headers", description: "HEAD request, any certificate accepted", args: ["-I", "-k"] }],
  fixedArgs: [
    "-q",
    "-sS",
    "-i",
    "-g",
    "--proto",
    "=http,https",
    "--proto-redir",
    "=http,https",
    "--noproxy",
    "*",
    "--connect-timeout",
    "10",
    "--max-time",
    "30",
    "--max-filesize",
    "1048576"
  ],
  target: { kind: "url", toArgs: httpTargetArgs },
  intrusive: false,
  defaultTimeoutSeconds: 45,
  defaultConcurrency: 5,
  okExitCodes: [],
  annotations: readOnlyProbe,
  outputSchema: HttpProbeResult,
  parse: parseWithStream(httpStream),
  stream: httpStream,
  summarize: summarizeHttpProbe
}
