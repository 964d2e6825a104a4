// `npm run build`: dist/main.cjs (the server, one bundle), dist/server.js (its launcher, the package's bin; with
// dist/package.json, which makes it CommonJS), dist/main.cjs.v8cache (the launcher's V8 code cache, written by a
// warm-up run of the stdio server) and dist/ui (the console at /ui: its page, one script and one stylesheet, served
// by the server from there).
//
// The bundle is minified, identifiers included: V8 keeps the whole source in memory for lazy compilation (~1 MB
// less resident with short names), and comments with non-ASCII characters would make it a two-byte string, twice
// the size. Nothing reads a function's or class's name at run time: error tags, span names, service keys and
// schema identifiers are strings (stack traces of defects show short names; `keepNames` would cost more memory
// than minifying saves). The HTTP program and OpenTelemetry are dynamic imports (src/main/http.ts,
// src/main/lazyMetrics.ts): esbuild wraps their modules in lazy initialisers, so a stdio server never
// evaluates them.
//
// Everything is bundled except the packages that cannot be (native modules such as better-sqlite3). That list is
// written once: package.json `dependencies`, which therefore holds exactly the published package's runtime
// dependencies; every bundled package is a devDependency. test/dist/externals.test.ts checks the bundle against it
// through the metafile written here (dist/main.cjs.meta.json, not shipped).
import { build } from "esbuild"
import { spawn } from "node:child_process"
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { brotliCompressSync, constants } from "node:zlib"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

process.chdir(fileURLToPath(new URL("..", import.meta.url)))
const pkg = JSON.parse(readFileSync("package.json", "utf8"))
const common = { platform: "node", target: "node20", logLevel: "warning" }

/**
 * `import { Effect, Layer } from "effect"` becomes `import * as Effect from "effect/Effect"; import * as Layer
 * from "effect/Layer"` (the same namespace objects), for the barrels below. Once part of the bundle is a dynamic
 * import, esbuild evaluates modules through lazy initialisers, and a barrel's initialiser evaluates every module
 * it re-exports: all of effect, and @effect/platform's MsgPack with its optional native addon. Deep imports
 * initialise only what is used.
 */
const barrels = ["effect", "@effect/platform", "@effect/platform-node"]
const namespacesOf = (pkg) =>
  new Map(
    [...readFileSync(`node_modules/${pkg}/dist/esm/index.js`, "utf8").matchAll(/^export \* as (\w+) from "\.\/(\w+)\.js"/gm)]
      .map((m) => [m[1], m[2]])
  )
const namespaces = new Map(barrels.map((pkg) => [pkg, namespacesOf(pkg)]))
const barrelImport = /import\s+\{([^}]*)\}\s+from\s+"(effect|@effect\/platform|@effect\/platform-node)"/g
const deepen = (source) =>
  source.replace(barrelImport, (all, list, pkg) => {
    const known = namespaces.get(pkg)
    const deep = []
    const rest = []
    for (const specifier of list.split(",").map((x) => x.trim()).filter((x) => x !== "")) {
      const [name, alias = name] = specifier.split(/\s+as\s+/)
      if (known.has(name)) deep.push(`import * as ${alias} from "${pkg}/${known.get(name)}"`)
      else rest.push(specifier)
    }
    return [...deep, ...(rest.length > 0 ? [`import { ${rest.join(", ")} } from "${pkg}"`] : [])].join("; ")
  })
const deepImports = {
  name: "deep-imports",
  setup(build) {
    build.onLoad({ filter: /\/src\/.*\.ts$/ }, async (args) => ({ contents: deepen(await readFile(args.path, "utf8")), loader: "ts" }))
  }
}

// zod (under the ext-apps App client) re-exports every message locale as a namespace, which no bundler can drop:
// the viewer keeps English, zod's default, and loses ~260 kB.
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), "../locales/index.js"), namespace: "zod-en" }
        : undefined)
    b.onLoad({ filter: /.*/, namespace: "zod-en" }, (args) => ({
      contents: "export { default as en } from \"./en.js\"",
      resolveDir: dirname(args.path),
      loader: "js"
    }))
  }
}

// The scan viewer (the MCP App, src/ui/app): one self-contained HTML document, script and styles inlined (a host
// renders it in a sandbox that allows inline code and nothing external), itself inlined into the server bundle,
// Brotli-compressed (src/mcp/mcpApp.ts says why).
const viewer = await build({
  // As for the console, the stylesheet is its own entry (it @imports the shared components' CSS).
  entryPoints: [{ in: "src/ui/app/main.tsx", out: "scan-viewer" }, { in: "src/ui/app/app.css", out: "scan-viewer" }],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "es2022",
  minify: true,
  legalComments: "none",
  outdir: "dist/scan-viewer",
  write: false,
  plugins: [zodEnglishOnly],
  logLevel: "warning"
})
const output = (ext) => viewer.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? ""
const inline = (text) => text.replace(/<\/(script|style)/gi, "<\\/$1")
const viewerHtml = readFileSync("src/ui/app/index.html", "utf8")
  .replace("<!--style-->", () => `<style>${inline(output(".css"))}</style>`)
  .replace("<!--script-->", () => `<script>${inline(output(".js"))}</script>`)
mkdirSync("dist", { recursive: true })
writeFileSync("dist/scan-viewer.html", viewerHtml)

const main = await build({
  ...common,
  entryPoints: ["src/main/cli.ts"],
  bundle: true,
  format: "cjs",
  outfile: "dist/main.cjs",
  external: Object.keys(pkg.dependencies ?? {}),
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: true,
  charset: "ascii",
  plugins: [deepImports],
  define: {
    __SCAN_VIEWER_BROTLI__: JSON.stringify(
      brotliCompressSync(Buffer.from(viewerHtml, "utf8"), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).toString("base64")
    )
  },
  metafile: true
})
writeFileSync("dist/main.cjs.meta.json", JSON.stringify(main.metafile))

await build({
  ...common,
  entryPoints: ["src/main/bin.ts"],
  format: "cjs",
  outfile: "dist/server.js",
  banner: { js: "#!/usr/bin/env node" }
})
chmodSync("dist/server.js", 0o755)
// The launcher is CommonJS in a package of ES modules (src/main/bin.ts says why): the files of dist/ are, unless
// their extension says otherwise, so the scripts' own bundles there are .mjs.
writeFileSync("dist/package.json", `${JSON.stringify({ type: "commonjs" })}\n`)

// The console: a browser bundle (Preact) and its CSS, no source maps (the package ships no sources).
rmSync("dist/ui", { recursive: true, force: true })
mkdirSync("dist/ui", { recursive: true })
await build({
  // The stylesheet is its own entry (it @imports the shared components' CSS), so no script imports CSS.
  entryPoints: [{ in: "src/ui/console/main.tsx", out: "console" }, { in: "src/ui/console/console.css", out: "console" }],
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  legalComments: "none",
  outdir: "dist/ui",
  logLevel: "warning"
})
copyFileSync("src/ui/console/index.html", "dist/ui/index.html")

// The code cache is written when a stdio server exits after answering initialize and tools/list, so it holds the
// bytecode of everything start-up runs. Only our own settings: a developer's MCP_* variables must not shape it.
const warmUp = () =>
  new Promise((resolve, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("MCP_") && key !== "LOG_LEVEL"))
    const child = spawn(process.execPath, ["dist/server.js", "serve", "--transport", "stdio"], {
      env: { ...env, SECURITY_MCP_SERVER_CODE_CACHE: "write", LOG_LEVEL: "ERROR" },
      stdio: ["pipe", "pipe", "pipe"]
    })
    let log = ""
    child.stderr.on("data", (chunk) => (log += chunk))
    const message = (id, method, params) => `${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`
    let seen = ""
    child.stdout.on("data", (chunk) => {
      seen += chunk
      if (seen.includes('"id":2')) child.stdin.end()
    })
    child.once("error", reject)
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`warm-up run exited with ${code}:\n${log}`))))
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.once("exit", () => clearTimeout(timer))
    child.stdin.write(message(1, "initialize", { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "build", version: "1" } }))
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`)
    child.stdin.write(message(2, "tools/list", {}))
  })

rmSync("dist/main.cjs.v8cache", { force: true })
await warmUp()
