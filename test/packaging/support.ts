import { expect } from "@effect/vitest"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { execFile, execFileSync } from "node:child_process"
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { promisify } from "node:util"

/**
 * Helpers for the distribution tests: they run the server the way users get
 * it (an installed npm package, an unpacked Claude Desktop extension), from
 * temporary directories with no repository file in reach.
 */

export const root = join(import.meta.dirname, "../..")
export const readJson = <A = any>(path: string): A => JSON.parse(readFileSync(path, "utf8")) as A
const manifest = readJson<{ name: string; version: string; mcpName: string; dependencies?: Record<string, string> }>(
  join(root, "package.json")
)
/** The repository's package.json; `dependencies` (absent while nothing stays outside the bundle) is always an object here. */
export const packageJson = { ...manifest, dependencies: manifest.dependencies ?? {} }

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix))

/**
 * An environment with nothing of ours in it: the test runner's npm_* and MCP_*
 * variables would point back into the repository or change the server's
 * settings. npm keeps using this user's cache (offline installs read from it).
 */
/**
 * The machine's global npm configuration (registry, CA file, proxy). A global install into another prefix would
 * otherwise look for it under that prefix and lose, for example, the CA that reaches the registry here.
 */
const globalNpmConfig = execFileSync("npm", ["config", "get", "globalconfig"], { encoding: "utf8" }).trim()

export const cleanEnv = (extra: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
  HOME: process.env["HOME"] ?? "/tmp",
  LANG: "C",
  npm_config_cache: process.env["npm_config_cache"] ?? join(process.env["HOME"] ?? "/tmp", ".npm"),
  npm_config_globalconfig: globalNpmConfig,
  npm_config_update_notifier: "false",
  npm_config_fund: "false",
  npm_config_audit: "false",
  ...extra
})

/**
 * The sources npm packs, copied to a fresh directory (node_modules linked):
 * `npm pack` there runs the real `prepack` build without rewriting the
 * `dist/` the other test files are running.
 */
export const sourceCopy = (): string => {
  const copy = tempDir("mcp-src-")
  const sources = ["package.json", "package-lock.json", "tsconfig.json", "README.md", "LICENSE", "src", ".ci/build.mjs", ".ci/mcpb.mjs"]
  for (const path of [...sources, "config/config.example.yaml", "config/deploy/mcpb/manifest.json"]) {
    mkdirSync(dirname(join(copy, path)), { recursive: true })
    cpSync(join(root, path), join(copy, path), { recursive: true })
  }
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"))
  return copy
}

/**
 * The native addons `npm ci` built here, laid out as prebuild-install's local prebuilds in `dir`, and the
 * environment that points each package's install script at them. A user's install downloads the same prebuilt
 * file from the package's releases; this machine cannot reach them, and compiling SQLite from source again
 * took ~150 s of the suite. A package whose version or platform name does not match still compiles.
 */
export const localPrebuilds = (dir: string): Record<string, string> => {
  const libc =
    process.platform === "linux" && !(process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime
      ? "musl"
      : ""
  const env: Record<string, string> = {}
  for (const name of Object.keys(packageJson.dependencies)) {
    const from = join(root, "node_modules", name)
    const addons = join(from, "build/Release")
    if (!existsSync(addons)) continue
    const { version } = readJson<{ version: string }>(join(from, "package.json"))
    const file = `${name}-v${version}-node-v${process.versions.modules}-${process.platform}${libc}-${process.arch}.tar.gz`
    const nodeFiles = readdirSync(addons).filter((entry) => entry.endsWith(".node") && !entry.startsWith("test_"))
    execFileSync("tar", ["-czf", join(dir, file), "-C", from, ...nodeFiles.map((entry) => `build/Release/${entry}`)])
    env[`npm_config_${name.replace(/[^a-zA-Z0-9]/g, "_")}_local_prebuilds`] = dir
  }
  return env
}

/**
 * Runs npm without blocking the test worker: a pack or install takes minutes on a loaded machine, and a worker
 * that cannot answer vitest for 60 s fails the whole run.
 */
export const npm = async (args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = cleanEnv()): Promise<string> =>
  (await promisify(execFile)("npm", args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })).stdout

/** An SDK client connected over stdio to `command args…`, as an MCP host starts a server. */
export const connect = async (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  cwd: string
): Promise<{ client: Client; transport: StdioClientTransport }> => {
  const transport = new StdioClientTransport({ command, args: [...args], env, cwd, stderr: "pipe" })
  const client = new Client({ name: "dist-test", version: "1.0.0" })
  await client.connect(transport)
  return { client, transport }
}

export const close = async (session: { client: Client; transport: StdioClientTransport } | undefined): Promise<void> => {
  const pid = session?.transport.pid
  await session?.client.close()
  if (pid !== null && pid !== undefined) {
    try {
      process.kill(pid, "SIGKILL")
    } catch {
      // exited when its stdin closed
    }
  }
}

/** The structured content of a tool result: `execution` on success, `error` (the typed error body) otherwise. */
const structured = (result: unknown) => (result as { structuredContent: Record<string, any> }).structuredContent
export const execution = (result: unknown): Record<string, any> => structured(result)["execution"]
export const errorOf = (result: unknown): Record<string, any> => structured(result)["error"]

/** initialize (done by connect), tools/list and an nmap scan of a loopback listener: the server works. */
export const expectWorkingServer = async (client: Client, port: number): Promise<void> => {
  expect(client.getServerVersion()).toMatchObject({ name: "security-mcp-server", version: packageJson.version })
  const { tools } = await client.listTools()
  expect(tools.map((t) => t.name)).toContain("NmapTool")
  const result = await client.callTool({ name: "NmapTool", arguments: { target: "127.0.0.1", args: ["-n", "-sT", "-p", String(port)] } })
  expect(result.isError, JSON.stringify(result.structuredContent)).toBe(false)
  const hosts =
    (result.structuredContent as { result: { hosts: ReadonlyArray<{ ports: ReadonlyArray<{ portid: number; state: string }> }> } })
      .result.hosts
  expect(hosts.flatMap((h) => h.ports.filter((p) => p.state === "open").map((p) => p.portid))).toEqual([port])
}
