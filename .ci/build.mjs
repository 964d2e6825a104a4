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
import { fileURLToPath } from "node:url"

process.chdir(fileURLToPath(new URL("..", import.meta.url)))
const pkg = JSON.parse(readFileSync("package.json", "utf8"))
const common = { platform: "node", target: "node20", logLevel: "warning" }

const main = await build({
  ...common,
  entryPoints: ["src/main/cli.ts"],
  bundle: true,
  format: "cjs",
  outfile: "dist/main.cjs",
  external: Object.keys(pkg.dependencies ?? {}),
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
