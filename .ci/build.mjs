// `npm run build`: dist/main.cjs (the server, one bundle), dist/server.js (its launcher, the package's bin),
// dist/main.cjs.v8cache (the launcher's V8 code cache, written by running it once) and dist/ui (the console at /ui:
// its page, one script and one stylesheet, served by the server from there).
//
// Everything is bundled except the packages that cannot be (native modules such as better-sqlite3). That list is
// written once: package.json `dependencies`, which therefore holds exactly the published package's runtime
// dependencies; every bundled package is a devDependency. test/dist/externals.test.ts checks the bundle against it
// through the metafile written here (dist/main.cjs.meta.json, not shipped).
import { build } from "esbuild"
import { execFileSync } from "node:child_process"
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

process.chdir(fileURLToPath(new URL("..", import.meta.url)))
const pkg = JSON.parse(readFileSync("package.json", "utf8"))
const common = { platform: "node", target: "node20", logLevel: "warning" }

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
// renders it in a sandbox that allows inline code and nothing external), itself inlined into the server bundle.
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
  define: { __SCAN_VIEWER_HTML__: JSON.stringify(viewerHtml) },
  metafile: true
})
writeFileSync("dist/main.cjs.meta.json", JSON.stringify(main.metafile))

await build({
  ...common,
  entryPoints: ["src/main/bin.ts"],
  format: "esm",
  outfile: "dist/server.js",
  banner: { js: "#!/usr/bin/env node" }
})
chmodSync("dist/server.js", 0o755)

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

// The first run writes the code cache for this bundle and this Node.
rmSync("dist/main.cjs.v8cache", { force: true })
execFileSync(process.execPath, ["dist/server.js", "--version"], { stdio: "ignore" })
