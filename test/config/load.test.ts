import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { changedPaths, environmentNames, loadConfig } from "../../src/config/load.js"
import { defaults } from "../../src/config/schema.js"

const load = (fileText: string | undefined, env: Record<string, string> = {}) => {
  const result = loadConfig({ fileText, fileSource: "test.yaml", env })
  if (Either.isLeft(result)) throw new Error(`${result.left.message}: ${result.left.issues.join("; ")}`)
  return result.right
}

const loadError = (fileText: string | undefined, env: Record<string, string> = {}) => {
  const result = loadConfig({ fileText, fileSource: "test.yaml", env })
  if (Either.isRight(result)) throw new Error("expected the configuration to be rejected")
  return result.left
}

describe("config loading", () => {
  it("uses the defaults when there is no file and no environment", () => {
    const { config, warnings } = load(undefined)
    expect(config.server.host).toBe("127.0.0.1")
    expect(config.server.transport).toBe("stdio")
    expect(config.security.allowed_targets).toEqual(["RFC1918", "loopback", ".lab.internal"])
    expect(config.security.allow_intrusive).toBe(false)
    expect(warnings).toEqual([])
  })

  it("applies defaults < file < environment", () => {
    const file = "server:\n  port: 9000\n  host: 127.0.0.2\nsecurity:\n  timeout_seconds: 120\n"
    const { config } = load(file, { MCP_SERVER_PORT: "9100", MCP_SECURITY_ALLOW_INTRUSIVE: "true" })
    expect(config.server.port).toBe(9100)
    expect(config.server.host).toBe("127.0.0.2")
    expect(config.security.timeout_seconds).toBe(120)
    expect(config.security.allow_intrusive).toBe(true)
    expect(config.circuit_breaker.failure_threshold).toBe(defaults.circuit_breaker.failure_threshold)
  })

  it("reads JSON files as well as YAML", () => {
    const { config } = load(JSON.stringify({ health: { cpu_threshold: 70 } }))
    expect(config.health.cpu_threshold).toBe(70)
  })

  it("accepts the spec's environment names and aliases", () => {
    const { config } = load(undefined, {
      MCP_SERVER_TRANSPORT: "http",
      MCP_CIRCUIT_BREAKER_FAILURE_THRESHOLD: "7",
      MCP_CIRCUIT_BREAKER_RECOVERY_TIMEOUT: "30",
      MCP_CIRCUIT_BREAKER_HALF_OPEN_SUCCESS_THRESHOLD: "2",
      MCP_HEALTH_CHECK_INTERVAL: "15.5",
      MCP_METRICS_PROMETHEUS_PORT: "9091",
      MCP_TOOL_DEFAULT_TIMEOUT: "600",
      MCP_TOOL_DEFAULT_CONCURRENCY: "1",
      MCP_MAX_MEMORY_MB: "256",
      MCP_MAX_FILE_DESCRIPTORS: "128",
      LOG_LEVEL: "debug",
      LOG_FORMAT: "json",
      MCP_SECURITY_ALLOWED_TARGETS: "10.1.0.0/16, .lab.internal"
    })
    expect(config.server.transport).toBe("http")
    expect(config.circuit_breaker.failure_threshold).toBe(7)
    expect(config.circuit_breaker.recovery_timeout).toBe(30)
    expect(config.circuit_breaker.half_open_success_threshold).toBe(2)
    expect(config.health.check_interval).toBe(15.5)
    expect(config.metrics.prometheus_port).toBe(9091)
    expect(config.tool.default_timeout).toBe(600)
    expect(config.tool.default_concurrency).toBe(1)
    expect(config.security.max_memory_mb).toBe(256)
    expect(config.security.max_file_descriptors).toBe(128)
    expect(config.logging.level).toBe("DEBUG")
    expect(config.logging.format).toBe("json")
    expect(config.security.allowed_targets).toEqual(["10.1.0.0/16", ".lab.internal"])
  })

  it("generates an environment name for every setting", () => {
    const names = environmentNames().map((e) => e.name)
    for (const [section, fields] of Object.entries(defaults)) {
      if (section === "tools" || section === "custom_tools") continue
      for (const key of Object.keys(fields as object)) {
        expect(names).toContain(`MCP_${section}_${key}`.toUpperCase())
      }
    }
  })

  it("clamps out-of-range values and says so", () => {
    const { config, warnings } = load("security:\n  timeout_seconds: 999999\n", { MCP_SERVER_PORT: "70000" })
    expect(config.security.timeout_seconds).toBe(86400)
    expect(config.server.port).toBe(65535)
    expect(warnings).toContain("security.timeout_seconds: 999999 is out of range, using 86400")
    expect(warnings).toContain("server.port: 70000 is out of range, using 65535")
  })

  it("reports one bad environment value without discarding the others", () => {
    const { config, warnings } = load(undefined, {
      MCP_SERVER_PORT: "eighty",
      MCP_SECURITY_ALLOW_INTRUSIVE: "maybe",
      MCP_SERVER_TRANSPORT: "carrier-pigeon",
      MCP_SECURITY_TIMEOUT_SECONDS: "45"
    })
    expect(config.server.port).toBe(8080)
    expect(config.security.allow_intrusive).toBe(false)
    expect(config.server.transport).toBe("stdio")
    expect(config.security.timeout_seconds).toBe(45)
    expect(warnings.some((w) => w.startsWith("MCP_SERVER_PORT=\"eighty\" must be a number"))).toBe(true)
    expect(warnings.some((w) => w.startsWith("MCP_SECURITY_ALLOW_INTRUSIVE=\"maybe\" must be true or false"))).toBe(true)
    expect(warnings.some((w) => w.startsWith("MCP_SERVER_TRANSPORT=\"carrier-pigeon\" is invalid"))).toBe(true)
  })

  it("warns about unknown MCP_ variables and unsupported spec variables", () => {
    const { warnings } = load(undefined, { MCP_SERVR_PORT: "1", MCP_SERVER_WORKERS: "4", HOME: "/root" })
    expect(warnings.some((w) => w.startsWith("MCP_SERVR_PORT is not a known setting"))).toBe(true)
    expect(warnings.some((w) => w.startsWith("MCP_SERVER_WORKERS is ignored"))).toBe(true)
    expect(warnings.some((w) => w.includes("HOME"))).toBe(false)
  })

  it("rejects an unknown key in the file, naming it", () => {
    const error = loadError("security:\n  allow_intrusiv: true\n")
    expect(error._tag).toBe("ConfigInvalid")
    expect(error.issues.join("\n")).toContain("security.allow_intrusiv")
  })

  it("rejects an unknown section and a wrongly typed value, listing every issue", () => {
    const error = loadError("serverr:\n  port: 1\nserver:\n  port: abc\n")
    const issues = error.issues.join("\n")
    expect(issues).toContain("serverr")
    expect(issues).toContain("server.port")
  })

  it("rejects a file that is not YAML or not a mapping", () => {
    expect(loadError("server: [unclosed\n").message).toContain("not valid YAML")
    expect(loadError("- a\n- b\n").message).toContain("mapping")
  })

  it("treats an empty file as no settings", () => {
    expect(load("").config.server.port).toBe(8080)
  })

  it("lists changed paths", () => {
    const a = load(undefined).config
    const b = load("server:\n  port: 1234\nsecurity:\n  allowed_targets: [loopback]\n").config
    expect(changedPaths(a, b)).toEqual(["server.port", "security.allowed_targets"])
    expect(changedPaths(a, a)).toEqual([])
  })
})

describe("cross-setting rules", () => {
  it("rejects allow-list entries that are not CIDRs, aliases or name suffixes", async () => {
    const { semanticProblems } = await import("../../src/config/semantics.js")
    const { config } = load("security:\n  allowed_targets: [RFC1918, 'not a cidr', 10.0.0.0/33]\n")
    const problems = semanticProblems(config)
    expect(problems.length).toBe(2)
    expect(problems.every((p) => p.startsWith("security.allowed_targets"))).toBe(true)
  })

  it("rejects duplicate API key ids", async () => {
    const { semanticProblems } = await import("../../src/config/semantics.js")
    const hash = "a".repeat(64)
    const { config } = load(JSON.stringify({ auth: { api_keys: [{ id: "k", sha256: hash }, { id: "k", sha256: "b".repeat(64) }] } }))
    expect(semanticProblems(config)).toContain("auth.api_keys: duplicate id k")
  })

  it.each(["operator", "stdio"])("refuses the local operator's name %s as an API key id", (id) => {
    const error = loadError(JSON.stringify({ auth: { api_keys: [{ id, sha256: "a".repeat(64) }] } }))
    expect(error.issues.join("\n")).toContain(`the key id ${id} is reserved for the local operator`)
  })
})

describe("warnings", () => {
  it("never echo the values of auth settings", () => {
    const { warnings } = load(undefined, { MCP_AUTH_API_KEYS: "[{\"id\":\"k\",\"sha256\":\"not-a-hash-secretish\"}]" })
    expect(warnings.some((w) => w.startsWith("MCP_AUTH_API_KEYS=[redacted] is invalid"))).toBe(true)
    expect(warnings.join("\n")).not.toContain("secretish")
  })
})
