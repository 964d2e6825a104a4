import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { cleanup, startListener, waitFor } from "../e2e/support/processes.js"
import {
  cleanEnv,
  close,
  connect,
  expectWorkingServer,
  localPrebuilds,
  npm,
  packageJson,
  readJson,
  sourceCopy,
  tempDir
} from "./support.js"

/**
 * The package as users get it: `npm pack` (its prepack build) in a copy of
 * the sources, then ONE `npm install -g` of the tarball into an empty prefix,
 * from the local npm cache where it can (the registry for what npm ci did not cache), from a temporary directory
 * with a clean environment. The SQLite driver's native addon comes as a
 * prebuilt file, as it does for users, here the one `npm ci` built (see
 * localPrebuilds); the generous timeout is for a machine where it compiles
 * anyway. Everything after that runs the installed bin.
 */

const INSTALL_TIMEOUT = 600_000

let work = ""
let tarball = ""
let prefix = ""
let installed = ""
let bin = ""
let port = 0

beforeAll(async () => {
  work = tempDir("mcp-pkg-")
  const [packed] = JSON.parse(await npm(["pack", "--json", "--pack-destination", work], sourceCopy())) as Array<{ filename: string }>
  tarball = join(work, packed!.filename)
  prefix = join(work, "prefix")
  const empty = join(work, "empty")
  const prebuilds = join(work, "prebuilds")
  mkdirSync(empty)
  mkdirSync(prebuilds)
  await npm(["install", "--global", "--prefix", prefix, "--prefer-offline", tarball], empty, cleanEnv(localPrebuilds(prebuilds)))
  installed = join(prefix, "lib/node_modules", packageJson.name)
  bin = join(prefix, "bin", packageJson.name)
}, INSTALL_TIMEOUT)

beforeAll(async () => {
  port = await startListener()
})

afterAll(async () => {
  await cleanup()
  rmSync(work, { recursive: true, force: true })
})

describe("npm package", () => {
  it("holds only what runs: the bundle, its code cache and launcher, the console, README, LICENSE, the example config", () => {
    const listing = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).trim().split("\n").sort()
    expect(listing).toEqual([
      "package/LICENSE",
      "package/README.md",
      "package/config/config.example.yaml",
      "package/dist/main.cjs",
      "package/dist/main.cjs.v8cache",
      "package/dist/package.json",
      "package/dist/server.js",
      "package/dist/ui/console.css",
      "package/dist/ui/console.js",
      "package/dist/ui/index.html",
      "package/package.json"
    ])
    const manifest = readJson(join(installed, "package.json"))
    expect(manifest.private).toBeUndefined()
    expect(manifest.license).toBe("MIT")
    expect(manifest.dependencies ?? {}).toEqual(packageJson.dependencies)
    expect(readFileSync(join(installed, "LICENSE"), "utf8")).toMatch(/^MIT License/)
  })

  it("installs only the runtime dependencies package.json names", () => {
    const modules = join(installed, "node_modules")
    expect(readdirSync(join(prefix, "lib/node_modules"))).toEqual([packageJson.name])
    const names = Object.keys(packageJson.dependencies)
    if (names.length === 0) expect(() => statSync(modules)).toThrow()
    for (const name of names) expect(statSync(join(modules, name)).isDirectory()).toBe(true)
  })

  it("links the bin, which reports the version from package.json and starts from the shipped code cache", () => {
    const shipped = join(installed, "dist/main.cjs.v8cache")
    const before = statSync(shipped)
    expect(execFileSync(bin, ["--version"], { env: cleanEnv(), cwd: work, encoding: "utf8" }).trim()).toBe(packageJson.version)
    // A rejected cache would have been replaced (a new file through rename): V8 took the one in the package.
    expect([statSync(shipped).ino, statSync(shipped).mtimeMs]).toEqual([before.ino, before.mtimeMs])
  })

  it("serves MCP over stdio from the installed bin: initialize, tools/list and a loopback scan", async () => {
    const session = await connect(bin, ["serve", "--transport", "stdio"], cleanEnv({ MCP_SECURITY_ALLOWED_TARGETS: "loopback" }), work)
    try {
      await expectWorkingServer(session.client, port)
    } finally {
      await close(session)
    }
  }, 60_000)

  it("serves the console from the installed package", async () => {
    const child = spawn(bin, ["serve", "--transport", "http", "--port", "0"], { env: cleanEnv(), cwd: work })
    try {
      let log = ""
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (log += chunk))
      const base = await waitFor("the listening log line", () => /listening on (http:\/\/[0-9.]+:\d+)/.exec(log)?.[1], 30_000)
      for (const [path, type] of [["/ui", "text/html"], ["/ui/console.js", "text/javascript"], ["/ui/console.css", "text/css"]]) {
        const response = await fetch(`${base}${path}`)
        expect([path, response.status, response.headers.get("content-type")]).toEqual([path, 200, `${type}; charset=utf-8`])
      }
    } finally {
      child.kill("SIGKILL")
    }
  }, 60_000)

  // npx installs the tarball again into its cache; without install scripts, so no native dependency compiles twice.
  // The path is absolute (npm resolves a relative one from the nearest folder above with a node_modules, not the cwd),
  // so it is named with --package: a bare absolute path would be run as a command.
  it("runs with npx -y --package=<tarball>", () => {
    const npxCache = tempDir("mcp-npx-")
    try {
      const out = execFileSync(
        "npx",
        ["--prefer-offline", "--ignore-scripts", "-y", `--package=${tarball}`, packageJson.name, "--version"],
        {
          cwd: work,
          env: cleanEnv({ npm_config_cache: npxCache }),
          encoding: "utf8"
        }
      )
      expect(out.trim()).toBe(packageJson.version)
    } finally {
      rmSync(npxCache, { recursive: true, force: true })
    }
  }, 120_000)

  /**
   * A global install owned by root, run by another user, with a cache V8
   * rejects (another Node version, simulated by corrupting it): the launcher
   * writes its cache to that user's cache directory and uses it next time.
   */
  it.skipIf(process.getuid?.() !== 0 || spawnSync("setpriv", ["--version"]).status !== 0)(
    "keeps its code cache working from a read-only installation",
    () => {
      const shipped = join(installed, "dist/main.cjs.v8cache")
      writeFileSync(shipped, Buffer.alloc(statSync(shipped).size, 7))
      const cacheHome = join(work, "cache-home")
      mkdirSync(cacheHome)
      chownSync(cacheHome, 65534, 65534)
      for (let dir = installed; dir.startsWith(work); dir = join(dir, "..")) chmodSync(dir, 0o755)
      chmodSync(work, 0o755)
      const asNobody = () =>
        execFileSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", bin, "--version"], {
          env: cleanEnv({ HOME: cacheHome, XDG_CACHE_HOME: cacheHome }),
          cwd: cacheHome,
          encoding: "utf8"
        }).trim()

      expect(asNobody()).toBe(packageJson.version)
      const dir = join(cacheHome, "security-mcp-server")
      const [written] = readdirSync(dir)
      expect(written).toMatch(new RegExp(`^main-${process.version.replace(/\./g, "\\.")}-${process.arch}-\\d+-\\d+\\.v8cache$`))
      const first = statSync(join(dir, written!))
      expect([first.uid, first.mode & 0o777]).toEqual([65534, 0o600])
      expect(readFileSync(shipped).every((byte) => byte === 7)).toBe(true)

      // Accepted the second time: nothing is rewritten.
      expect(asNobody()).toBe(packageJson.version)
      expect(readdirSync(dir)).toEqual([written])
      expect(statSync(join(dir, written!)).mtimeMs).toBe(first.mtimeMs)
    },
    60_000
  )
})
