import type { ClientCapabilities, Resource, Tool } from "@modelcontextprotocol/sdk/types.js"
import { Effect, Option } from "effect"
import { brotliDecompressSync } from "node:zlib"
import type { ResourceProvider } from "./resources.js"
import { SCAN_DIFF } from "./scanDiff.js"

/**
 * The scan viewer as an MCP App (the MCP Apps extension, SEP-1865): NmapTool
 * and ScanDiff name a `ui://` resource in their descriptor's `_meta.ui`, and
 * a host that supports the extension renders their results with it, in a
 * sandboxed iframe. The extension is negotiated: only a client that
 * advertises it in `capabilities.extensions` with the app MIME type is told
 * about the viewer (tool `_meta`, `resources/list`, `resources/read`);
 * every other client sees exactly what it saw before. A stateless HTTP
 * request has no session to negotiate in, so it never gets the viewer.
 */

/** The extension's identifier in `capabilities.extensions` (ext-apps `EXTENSION_ID`; a test checks they agree). */
export const APPS_EXTENSION = "io.modelcontextprotocol/ui"

/** The MIME type of an MCP App's HTML (ext-apps `RESOURCE_MIME_TYPE`). */
export const APP_MIME_TYPE = "text/html;profile=mcp-app"

/** The deprecated flat key older hosts read (ext-apps `RESOURCE_URI_META_KEY`), sent beside `ui.resourceUri` as the SDK helpers do. */
const LEGACY_URI_KEY = "ui/resourceUri"

export const SCAN_VIEWER_URI = "ui://security-mcp-server/scan-viewer.html"

/** The tools whose results the viewer renders: an nmap report, or a diff of two stored scans. */
export const VIEWER_TOOLS: ReadonlySet<string> = new Set(["NmapTool", SCAN_DIFF])

/**
 * The viewer's HTML, inlined into the server bundle at build time
 * (`.ci/build.mjs` defines it, and writes it to dist/scan-viewer.html for
 * the tests); absent when running from source, where the server offers no
 * viewer. The bundle holds it Brotli-compressed (base64): V8 keeps the
 * bundle's source and the code cache's string constants in memory in every
 * server, ~280 kB each for the plain HTML. It is decompressed when a client
 * first reads it, not at start-up: most clients never negotiate the
 * extension, and a start-up that decompressed it spent ~5 ms on it.
 */
declare const __SCAN_VIEWER_BROTLI__: string | undefined
export const hasBundledScanViewer: boolean = typeof __SCAN_VIEWER_BROTLI__ === "string"
let viewerHtml: string | undefined
/** The HTML, for a server that `hasBundledScanViewer` (from source the constant does not exist). */
export const bundledScanViewer = (): string => {
  viewerHtml ??= brotliDecompressSync(Buffer.from(__SCAN_VIEWER_BROTLI__ as string, "base64")).toString("utf8")
  return viewerHtml
}

/** Whether the client negotiated MCP Apps with HTML views. */
export const supportsApps = (capabilities: ClientCapabilities | undefined): boolean => {
  const settings = capabilities?.extensions?.[APPS_EXTENSION] as { readonly mimeTypes?: unknown } | undefined
  return Array.isArray(settings?.mimeTypes) && settings.mimeTypes.includes(APP_MIME_TYPE)
}

/**
 * The resource's `_meta.ui` (the spec's McpUiResourceMeta; ext-apps 1.7's
 * type re-exports do not resolve under NodeNext, so the shape is written
 * here).
 */
export interface ViewerResourceMeta {
  readonly csp: {
    readonly connectDomains: ReadonlyArray<string>
    readonly resourceDomains: ReadonlyArray<string>
    readonly frameDomains: ReadonlyArray<string>
    readonly baseUriDomains: ReadonlyArray<string>
  }
  readonly prefersBorder: boolean
}

const toolMeta = { resourceUri: SCAN_VIEWER_URI }

/** The tool as listed to a client that negotiated the extension: a viewer tool gains `_meta.ui`, others are unchanged. */
export const withViewer = (tool: Tool): Tool =>
  VIEWER_TOOLS.has(tool.name)
    ? { ...tool, _meta: { ...tool._meta, ui: toolMeta, [LEGACY_URI_KEY]: SCAN_VIEWER_URI } }
    : tool

/**
 * The viewer talks to nothing but its host: no network origin, no nested
 * frame, no device permission. Declared explicitly, as empty lists, so the
 * CSP a host builds from them allows no origin and a host that reviews CSP
 * configurations sees that.
 */
export const viewerResourceMeta: ViewerResourceMeta = {
  csp: { connectDomains: [], resourceDomains: [], frameDomains: [], baseUriDomains: [] },
  prefersBorder: true
}

const resource: Resource = {
  uri: SCAN_VIEWER_URI,
  name: "scan-viewer",
  title: "Scan viewer",
  description: "Renders NmapTool results and ScanDiff diffs: hosts and ports table, filter, opened/closed/changed highlighted",
  mimeType: APP_MIME_TYPE,
  _meta: { ui: viewerResourceMeta }
}

/** `ui://…/scan-viewer.html`, listed and read only in a session whose client negotiated the extension (`negotiated`). */
export const scanViewerResources = (html: () => string, negotiated: () => boolean): ResourceProvider => ({
  templates: [],
  list: () => Effect.sync(() => ({ resources: negotiated() ? [resource] : [] })),
  read: (uri) =>
    Effect.sync(() =>
      uri === SCAN_VIEWER_URI && negotiated()
        ? Option.some({ contents: [{ uri, mimeType: APP_MIME_TYPE, text: html(), _meta: { ui: viewerResourceMeta } }] })
        : Option.none()
    )
})
