import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, type Scope } from "effect"
import { createServer } from "node:http"
import type { ViewerResourceMeta } from "../../src/mcp/mcpApp.js"

/**
 * A stub MCP Apps host: a page on 127.0.0.1 that renders the app's HTML in a
 * sandboxed iframe (scripts only, so the view has an opaque origin of its
 * own) under the CSP the spec makes a host build from the resource's
 * `_meta.ui.csp`, and speaks the host side of the protocol over
 * postMessage JSON-RPC: answers `ui/initialize` with host info,
 * capabilities and context, and after `ui/notifications/initialized` sends
 * `ui/notifications/tool-input` then `ui/notifications/tool-result` with
 * the tool result it was handed. Every message the view sent is in
 * `window.hostLog`.
 */

export interface HostCase {
  readonly tool: Tool
  readonly arguments: Record<string, unknown>
  readonly result: CallToolResult
  /** The host's theme (default light). */
  readonly theme?: "light" | "dark"
}

/** The spec's CSP construction for declared domains (`connect-src` kept at 'none': a host may restrict further). */
export const viewCsp = ({ csp }: ViewerResourceMeta): string => {
  const resources = csp.resourceDomains.join(" ")
  return [
    "default-src 'none'",
    `script-src 'self' 'unsafe-inline' ${resources}`,
    `style-src 'self' 'unsafe-inline' ${resources}`,
    `connect-src ${csp.connectDomains.length === 0 ? "'none'" : csp.connectDomains.join(" ")}`,
    `img-src 'self' data: ${resources}`,
    `font-src 'self' ${resources}`,
    `media-src 'self' data: ${resources}`,
    `frame-src ${csp.frameDomains.length === 0 ? "'none'" : csp.frameDomains.join(" ")}`,
    "object-src 'none'",
    `base-uri ${csp.baseUriDomains.length === 0 ? "'self'" : csp.baseUriDomains.join(" ")}`
  ].join("; ")
}

/** The host's side of the protocol, as the page's script (the case is embedded as JSON). */
const hostScript = (hostCase: HostCase, id: number) => `
const CASE = ${JSON.stringify(hostCase).replace(/</g, "\\u003c")};
window.hostLog = [];
const frame = document.createElement("iframe");
frame.setAttribute("sandbox", "allow-scripts");
frame.title = "Scan viewer";
frame.style.width = "960px";
frame.style.height = "300px";
frame.src = "/view/${id}";
const send = (message) => frame.contentWindow.postMessage({ jsonrpc: "2.0", ...message }, "*");
window.addEventListener("message", (event) => {
  if (event.source !== frame.contentWindow) return;
  const m = event.data;
  if (m === null || typeof m !== "object" || m.jsonrpc !== "2.0") return;
  window.hostLog.push(m);
  if (m.method === "ui/initialize") {
    send({ id: m.id, result: {
      protocolVersion: "2026-01-26",
      hostInfo: { name: "stub-host", version: "1.0.0" },
      hostCapabilities: {},
      hostContext: { theme: CASE.theme ?? "light", displayMode: "inline", platform: "web", toolInfo: { tool: CASE.tool }, containerDimensions: { width: 960, maxHeight: 4000 } }
    } });
  } else if (m.method === "ui/notifications/initialized") {
    send({ method: "ui/notifications/tool-input", params: { arguments: CASE.arguments } });
    send({ method: "ui/notifications/tool-result", params: CASE.result });
  } else if (m.method === "ui/notifications/size-changed") {
    if (typeof m.params?.height === "number") frame.style.height = m.params.height + "px";
  } else if (m.method !== undefined && m.id !== undefined) {
    send({ id: m.id, error: { code: -32601, message: "Method not found: " + m.method } });
  }
});
document.body.append(frame);
`

export interface StubHost {
  /** The URL of a host page rendering the view for this case. */
  readonly open: (hostCase: HostCase) => string
}

/** Serves host pages and the view (with its CSP) on 127.0.0.1, a free port; closed with the scope. */
export const stubHost = (html: string, meta: ViewerResourceMeta): Effect.Effect<StubHost, never, Scope.Scope> =>
  Effect.gen(function*() {
    const cases: Array<HostCase> = []
    const server = createServer((request, response) => {
      const [, kind, n] = /^\/(host|view)\/(\d+)$/.exec(request.url ?? "") ?? []
      const hostCase = cases[Number(n)]
      if (hostCase === undefined) return response.writeHead(404).end()
      if (kind === "view") {
        return response.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": viewCsp(meta) }).end(html)
      }
      const page =
        `<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Stub MCP Apps host</title></head>` +
        `<body><script>${hostScript(hostCase, Number(n))}</script></body></html>`
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page)
    })
    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
        })
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    return {
      open: (hostCase) => {
        cases.push(hostCase)
        return `http://127.0.0.1:${port}/host/${cases.length - 1}`
      }
    }
  })
