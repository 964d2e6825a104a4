// `npm run build`: dist/main.cjs (the server, one bundle), dist/server.js (its launcher, the package's bin) and
// dist/main.cjs.v8cache (the launcher's V8 code cache, written by a warm-up run of the stdio server).
//
// The bundle is minified (whitespace and syntax; names are kept, so stack traces stay readable): V8 keeps the
// whole source in memory for lazy compilation, and comments with non-ASCII characters would make it a two-byte
// string, twice the size. The HTTP program and OpenTelemetry are dynamic imports (src/main/http.ts,
// src/main/lazyMetrics.ts): esbuild wraps their modules in lazy initialisers, so a stdio server never
// evaluates them.
//
// Everything is bundled except the packages that cannot be (native modules such as better-sqlite3). That list is
// written once: package.json `dependencies`, which therefore holds exactly the published package's runtime
// dependencies; every bundled package is a devDependency. test/dist/externals.test.ts checks the bundle against it
// through the metafile written here (dist/main.cjs.meta.json, not shipped).
import { build } from "esbuild"
import { spawn } from "node:child_process"
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { readFile } from "node:fs/promises"
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

const main = await build({
  ...common,
  entryPoints: ["src/main/cli.ts"],
  bundle: true,
  format: "cjs",
  outfile: "dist/main.cjs",
  external: Object.keys(pkg.dependencies ?? {}),
  minifyWhitespace: true,
  minifySyntax: true,
  charset: "ascii",
  plugins: [deepImports],
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
