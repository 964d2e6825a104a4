import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import AjvModule from "ajv"
import addFormatsModule from "ajv-formats"
import { execFileSync } from "node:child_process"
import { existsSync, rmSync, writeFileSync } from "node:fs"
import { homedir } from "node:os"
import { join, sep } from "node:path"
import { environmentNames } from "../../src/config/load.js"
import { builtinTools } from "../../src/tools/builtins.js"
import { cleanup, startListener } from "../e2e/support/processes.js"
import {
  cleanEnv,
  close,
  connect,
  errorOf,
  execution,
  expectWorkingServer,
  npm,
  packageJson,
  readJson,
  root,
  sourceCopy,
  tempDir
} from "./support.js"

/**
 * The Claude Desktop extension: `npm run mcpb` (in a copy of the sources, so
 * the shared dist/ is not rebuilt under the other tests), unpacked with an
 * independent zip reader (Python's zipfile, which checks every CRC), its
 * manifest validated against the MCP Bundle schema 0.3 (vendored), and its
 * mcp_config resolved the way a host does (@anthropic-ai/mcpb's
 * getMcpConfigForManifest: platform overrides, ${__dirname}, user_config
 * defaults overridden by the user's values) and run over stdio.
 */

const Ajv = AjvModule.default
const addFormats = addFormatsModule.default

interface McpConfig {
  readonly command: string
  readonly args: ReadonlyArray<string>
  readonly env: Record<string, string>
  readonly platform_overrides?: Record<string, Partial<McpConfig>>
}

type UserValue = string | number | boolean | ReadonlyArray<string>

/** What a host starts for this manifest, with the user's settings, on `platform`. */
const resolveMcpConfig = (manifest: any, dir: string, user: Record<string, UserValue>, platform: string): McpConfig => {
  const base: McpConfig = manifest.server.mcp_config
  const override = base.platform_overrides?.[platform] ?? {}
  const config = { command: override.command ?? base.command, args: override.args ?? base.args, env: override.env ?? base.env }
  const variables: Record<string, string | ReadonlyArray<string>> = { __dirname: dir, HOME: homedir(), pathSeparator: sep, "/": sep }
  const merged: Record<string, UserValue> = {}
  for (const [key, option] of Object.entries<any>(manifest.user_config ?? {})) {
    if (option.default !== undefined) merged[key] = option.default
  }
  for (const [key, value] of Object.entries({ ...merged, ...user })) {
    variables[`user_config.${key}`] = Array.isArray(value) ? value.map(String) : typeof value === "boolean" ? String(value) : String(value)
  }
  const inString = (text: string) =>
    text.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      const value = variables[name]
      return typeof value === "string" ? value : whole
    })
  const args = config.args.flatMap((arg) => {
    const whole = /^\$\{(user_config\.[^}]+)\}$/.exec(arg)
    const value = whole ? variables[whole[1]!] : undefined
    return Array.isArray(value) ? value : [inString(arg)]
  })
  const env = Object.fromEntries(Object.entries(config.env).map(([key, value]) => [key, inString(value)]))
  return { command: inString(config.command), args, env }
}

let work = ""
let unpacked = ""
let manifest: any
let built = ""
let port = 0

beforeAll(async () => {
  work = tempDir("mcp-mcpb-")
  const copy = sourceCopy()
  built = (await npm(["run", "--silent", "mcpb"], copy)).trim().split("\n").pop()!
  unpacked = join(work, "extension")
  execFileSync("python3", ["-m", "zipfile", "-e", join(copy, built), unpacked])
  manifest = readJson(join(unpacked, "manifest.json"))
  port = await startListener()
}, 180_000)

afterAll(async () => {
  await cleanup()
  rmSync(work, { recursive: true, force: true })
})

/** Starts the unpacked extension as a host would: the host's own Node for `node`, its environment plus the manifest's. */
const start = (user: Record<string, UserValue>) => {
  const config = resolveMcpConfig(manifest, unpacked, user, "linux")
  expect(config.command).toBe("node")
  return connect(process.execPath, config.args, { ...cleanEnv(), ...config.env }, unpacked)
}

describe("Claude Desktop extension (.mcpb)", () => {
  it("has a manifest valid against the MCP Bundle schema 0.3, for this version", () => {
    const ajv = new Ajv({ strict: false, allErrors: true })
    addFormats(ajv)
    const validate = ajv.compile(readJson(join(root, "test/fixtures/mcpb/mcpb-manifest-v0.3.schema.json")))
    expect(validate(manifest), JSON.stringify(validate.errors, null, 2)).toBe(true)
    expect(manifest.manifest_version).toBe("0.3")
    expect(manifest.version).toBe(packageJson.version)
    expect(manifest.server).toMatchObject({ type: "node", entry_point: "dist/server.js" })
    expect(existsSync(join(unpacked, manifest.server.entry_point))).toBe(true)
  })

  it("lists the built-in tools and says where it runs: macOS and Linux, not Windows", () => {
    expect(manifest.tools).toEqual(builtinTools.map((t) => ({ name: t.name, description: t.title })))
    // A native runtime dependency ties the bundle to the platform it was built on, and its name says so.
    const native = new RegExp(`-${process.platform}-${process.arch}\\.mcpb$`).test(built)
    expect(manifest.compatibility.platforms).toEqual(native ? [process.platform] : ["darwin", "linux"])
    expect(manifest.compatibility.runtimes.node).toBe(">=20.0.0")
  })

  it("maps its user settings to real settings only, on every platform", () => {
    const known = new Set([...environmentNames().map((e) => e.name), "MCP_CONFIG_FILE"])
    const base = manifest.server.mcp_config.env
    for (const name of Object.keys(base)) expect(known).toContain(name)
    // An override replaces the whole env: macOS keeps every setting and adds Homebrew's bin to PATH.
    const darwin = resolveMcpConfig(manifest, unpacked, {}, "darwin")
    expect(Object.keys(darwin.env).sort()).toEqual([...Object.keys(base), "PATH"].sort())
    expect(darwin.env["PATH"]!.split(":")).toContain("/opt/homebrew/bin")
    const used = JSON.stringify(manifest.server.mcp_config).match(/\$\{user_config\.(\w+)\}/g)!.map((v) => v.slice(14, -1))
    expect(new Set(used)).toEqual(new Set(Object.keys(manifest.user_config)))
    // A setting without a default would reach the server as the literal "${user_config.…}".
    for (const option of Object.values<any>(manifest.user_config)) expect(option.default).toBeDefined()
  })

  it("runs with its defaults: initialize, tools/list and a loopback scan", async () => {
    const session = await start({})
    try {
      await expectWorkingServer(session.client, port)
    } finally {
      await close(session)
    }
  }, 60_000)

  it("passes the user's allowed targets, intrusive switch, limits mode and configuration file to the server", async () => {
    const configFile = join(work, "settings.yaml")
    writeFileSync(configFile, "tools:\n  PingTool:\n    enabled: false\n")
    const session = await start({
      allowed_targets: "127.0.0.1/32",
      allow_intrusive: false,
      resource_limits: "enforce",
      config_file: configFile
    })
    try {
      const ping = await session.client.callTool({ name: "PingTool", arguments: { target: "127.0.0.1" } })
      expect(errorOf(ping)._tag).toBe("ToolDisabled")
      // Outside 127.0.0.1/32: refused by policy before anything runs.
      const outside = await session.client.callTool({
        name: "NmapTool",
        arguments: { target: "127.0.0.2", args: ["-n", "-sT", "-p", String(port)] }
      })
      expect(errorOf(outside)._tag).toBe("TargetRejected")
      const intrusive = await session.client.callTool({
        name: "NmapTool",
        arguments: { target: "127.0.0.1", args: ["-n", "-A", "-p", String(port)] }
      })
      expect(errorOf(intrusive)._tag).toBe("IntrusiveNotAllowed")
      const inside = await session.client.callTool({
        name: "NmapTool",
        arguments: { target: "127.0.0.1", args: ["-n", "-sT", "-p", String(port)] }
      })
      expect(execution(inside)).toMatchObject({ returncode: 0, resolved_target: "127.0.0.1" })
    } finally {
      await close(session)
    }
  }, 60_000)
})
