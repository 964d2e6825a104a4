import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { execFile, execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { parse as parseYaml, parseAllDocuments } from "yaml"
import { environmentNames, loadConfig } from "../../src/config/load.js"
import { defaults } from "../../src/config/schema.js"
import { renderExampleConfig } from "../../src/docs/generate.js"
import { checkBindSafety } from "../../src/http/auth.js"
import { builtinTools } from "../../src/tools/builtins.js"
import { requireBuild } from "../e2e/support/processes.js"
import { close, connect } from "../packaging/support.js"
import { startHttpServer } from "../support/server.js"

/**
 * No Docker engine, Kubernetes cluster or Nix runs here, so the deployment
 * files are checked as data: each parses, and what it says about ports,
 * paths, users and settings agrees with the code. The Dockerfile's health
 * check command is run for real against the built server, and so is the
 * stdio mode with the image's settings.
 */

const root = new URL("../../", import.meta.url)
const read = (path: string) => readFileSync(new URL(path, root), "utf8")

/** Variables the loader reads that are not settings themselves. */
const LOADER_VARIABLES = new Set(["MCP_CONFIG_FILE"])
const settingNames = new Set(environmentNames().map((e) => e.name))

/** Every MCP_/LOG_ variable a deployment file sets must be one the server reads, or it would silently do nothing. */
const expectKnownVariables = (names: Iterable<string>) => {
  for (const name of names) {
    if (/^(MCP|LOG)_/.test(name)) expect(settingNames.has(name) || LOADER_VARIABLES.has(name), `${name} is not a setting`).toBe(true)
  }
}

/** A syntactically valid key list, as an operator would put in MCP_AUTH_API_KEYS. */
const SAMPLE_KEYS = JSON.stringify([{ id: "test", sha256: "0".repeat(64), scopes: ["execute"] }])

const effectiveConfig = (env: Record<string, string>, fileText?: string) => {
  const loaded = loadConfig({ env, ...(fileText === undefined ? {} : { fileText }) })
  if (Either.isLeft(loaded)) throw new Error(`${loaded.left.message}: ${loaded.left.issues.join("; ")}`)
  expect(loaded.right.warnings).toEqual([])
  return loaded.right.config
}

// --- Dockerfile -------------------------------------------------------------

interface Instruction {
  readonly keyword: string
  readonly args: string
}

const parseDockerfile = (text: string): ReadonlyArray<Instruction> => {
  const logical: Array<string> = []
  let current = ""
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line.startsWith("#") || (line === "" && current === "")) continue
    if (line.endsWith("\\")) {
      current += `${line.slice(0, -1)} `
      continue
    }
    logical.push(current + line)
    current = ""
  }
  return logical.filter((l) => l !== "").map((l) => {
    const [keyword = "", ...rest] = l.split(/\s+/)
    return { keyword: keyword.toUpperCase(), args: rest.join(" ") }
  })
}

const dockerfile = parseDockerfile(read("Dockerfile"))
const finalStage = dockerfile.slice(dockerfile.map((i) => i.keyword).lastIndexOf("FROM"))
const argDefaults = new Map(
  dockerfile.filter((i) => i.keyword === "ARG" && i.args.includes("=")).map((i) => [i.args.split("=")[0]!, i.args.split("=")[1]!])
)
const dockerEnv: Record<string, string> = Object.fromEntries(
  finalStage.filter((i) => i.keyword === "ENV").flatMap((i) => i.args.split(/\s+/).map((pair) => pair.split("=") as [string, string]))
)

/** `need BIN PACKAGE` lines of .ci/setup: the Debian package of each binary. */
const setupPackages = new Map(
  [...read(".ci/setup").matchAll(/^need (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!])
)

describe("Dockerfile", () => {
  it("pins every base image to an exact version", () => {
    const froms = dockerfile.filter((i) => i.keyword === "FROM").map((i) => i.args.split(/\s+/)[0]!)
    expect(froms.length).toBeGreaterThanOrEqual(2)
    for (const from of froms) {
      const image = from.replace(/^\$\{(\w+)\}$/, (_, name: string) => argDefaults.get(name) ?? from)
      expect(image).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$|@sha256:[0-9a-f]{64}$/)
    }
  })

  it("runs as the non-root uid 10001 and exposes the default port", () => {
    const users = finalStage.filter((i) => i.keyword === "USER").map((i) => i.args)
    expect(users).toEqual(["10001:10001"])
    expect(finalStage.filter((i) => i.keyword === "EXPOSE").map((i) => i.args)).toEqual([String(defaults.server.port)])
    expect(dockerEnv["MCP_SERVER_PORT"]).toBe(String(defaults.server.port))
  })

  it("has a node-based HEALTHCHECK on /health and an exec-form entrypoint on the bundle", () => {
    const health = finalStage.find((i) => i.keyword === "HEALTHCHECK")
    expect(health?.args).toMatch(/CMD \["node", "-e", ".*\/health.*"\]$/)
    expect(finalStage.find((i) => i.keyword === "ENTRYPOINT")?.args).toBe("[\"node\", \"/app/dist/server.js\"]")
  })

  it("copies only the bundle, the runtime dependencies and package.json into the runtime image", () => {
    const copies = finalStage.filter((i) => i.keyword === "COPY").map((i) => i.args)
    expect(copies).toEqual([
      "--from=build /src/dist/server.js /src/dist/package.json /src/dist/main.cjs /src/dist/main.cjs.v8cache ./dist/",
      "--from=build /src/node_modules ./node_modules",
      "--from=build /src/package.json ./package.json"
    ])
    // node_modules keeps only package.json's dependencies (the modules the bundle cannot hold).
    const build = dockerfile.slice(0, dockerfile.map((i) => i.keyword).lastIndexOf("FROM"))
    expect(build.some((i) => i.keyword === "RUN" && /npm run build .*&& npm prune --omit=dev/.test(i.args))).toBe(true)
  })

  it("builds with what the build script needs, and .dockerignore lets it through", () => {
    const build = dockerfile.slice(0, dockerfile.map((i) => i.keyword).lastIndexOf("FROM"))
    expect(build.filter((i) => i.keyword === "COPY").map((i) => i.args.split(/\s+/)[0])).toEqual([
      "package.json",
      "tsconfig.json",
      ".ci/build.mjs",
      "src"
    ])
    expect(JSON.parse(read("package.json")).scripts.build).toBe("node .ci/build.mjs")
    const ignore = read(".dockerignore").split("\n").map((l) => l.trim())
    expect(ignore.indexOf("!.ci/build.mjs")).toBeGreaterThan(ignore.indexOf(".ci"))
  })

  it("never pipes a download into a shell", () => {
    for (const run of dockerfile.filter((i) => i.keyword === "RUN")) expect(run.args).not.toMatch(/(curl|wget)[^|]*\|\s*(ba|da)?sh/)
  })

  it("installs the packages .ci/setup installs for the tools the server runs, plus CA certificates", () => {
    const install = finalStage.find((i) => i.keyword === "RUN" && i.args.includes("apt-get install"))?.args ?? ""
    const afterInstall = install.slice(install.indexOf("apt-get install") + "apt-get install".length).split("&&")[0] ?? ""
    const packages = afterInstall.trim().split(/\s+/).filter((token) => !token.startsWith("-"))
    const needed = [...builtinTools.map((t) => t.binary), "prlimit"].map((binary) => {
      const pkg = setupPackages.get(binary)
      expect(pkg, `.ci/setup does not install ${binary}`).toBeDefined()
      return pkg
    })
    expect(new Set(packages)).toEqual(new Set([...needed, "ca-certificates"]))
  })

  it("sets only real settings, and refuses to start on 0.0.0.0 until API keys are given", () => {
    expectKnownVariables(Object.keys(dockerEnv))
    const bare = effectiveConfig(dockerEnv)
    expect(bare.server.transport).toBe("http")
    expect(Either.isLeft(checkBindSafety(bare))).toBe(true)
    expect(Either.isRight(checkBindSafety(effectiveConfig({ ...dockerEnv, MCP_AUTH_API_KEYS: SAMPLE_KEYS })))).toBe(true)
  })

  it("keeps every written path on the volume, so a read-only root filesystem works", () => {
    const volume = /VOLUME \["([^"]+)"\]/.exec(finalStage.map((i) => `${i.keyword} ${i.args}`).join("\n"))?.[1]
    expect(volume).toBe("/var/lib/security-mcp-server")
    const config = effectiveConfig(dockerEnv, renderExampleConfig())
    expect(dirname(config.security.audit_log_path)).toBe(volume)
    expect(config.logging.file_path).toBe("")
  })

  it.scoped("its HEALTHCHECK command passes against the built server", () =>
    Effect.gen(function*() {
      const health = finalStage.find((i) => i.keyword === "HEALTHCHECK")?.args ?? ""
      const command = JSON.parse(health.slice(health.indexOf("CMD ") + 4)) as Array<string>
      const dir = mkdtempSync(join(tmpdir(), "mcp-docker-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      // The container's settings, except that the test binds loopback on a free port.
      const server = yield* startHttpServer({
        env: {
          ...dockerEnv,
          MCP_SERVER_HOST: "127.0.0.1",
          MCP_SERVER_PORT: "0",
          MCP_SECURITY_AUDIT_LOG_PATH: join(dir, "audit.jsonl"),
          MCP_STORAGE_PATH: join(dir, "data"),
          MCP_HEALTH_DISK_PATH: dir,
          MCP_AUTH_API_KEYS: SAMPLE_KEYS
        }
      })
      const status = yield* Effect.async<number | null>((resume) => {
        const child = execFile(command[0]!, command.slice(1), {
          env: { PATH: process.env["PATH"] ?? "", MCP_SERVER_PORT: String(server.port) },
          timeout: 10_000
        })
        child.once("exit", (code) => resume(Effect.succeed(code)))
      })
      expect(status).toBe(0)
    }), 60_000)
})

// --- docker compose -----------------------------------------------------------

const compose = parseYaml(read("config/deploy/docker-compose.yml"))
const mcpService = compose.services["security-mcp-server"]

describe("config/deploy/docker-compose.yml", () => {
  it("hardens the server container", () => {
    expect(mcpService.read_only).toBe(true)
    expect(mcpService.cap_drop).toEqual(["ALL"])
    expect(mcpService.security_opt).toContain("no-new-privileges:true")
    expect(mcpService.tmpfs.some((t: string) => t.split(":")[0] === "/tmp")).toBe(true)
    expect(mcpService.user).toBe("10001:10001")
    expect(mcpService.deploy.resources.limits.memory).toBeDefined()
    expect(mcpService.deploy.resources.limits.cpus).toBeDefined()
  })

  it("publishes the API port on loopback only and health-checks /health", () => {
    expect(mcpService.ports).toEqual([`127.0.0.1:${defaults.server.port}:${defaults.server.port}`])
    expect(mcpService.healthcheck.test.join(" ")).toContain("/health")
    expect(mcpService.healthcheck.test).toEqual(
      ["CMD", ...JSON.parse((finalStage.find((i) => i.keyword === "HEALTHCHECK")?.args ?? "").replace(/^.*CMD /, ""))]
    )
  })

  it("uses real settings, puts the audit log on a volume, and needs API keys to start", () => {
    const env: Record<string, string> = mcpService.environment
    expectKnownVariables(Object.keys(env))
    expect(env["MCP_AUTH_API_KEYS"]).toMatch(/^\$\{MCP_AUTH_API_KEYS:\?/)
    const auditDir = dirname(env["MCP_SECURITY_AUDIT_LOG_PATH"] ?? "")
    expect(mcpService.volumes).toContain(`audit:${auditDir}`)
    const configMount = mcpService.volumes.find((v: string) => v.includes(`:${env["MCP_CONFIG_FILE"]}:`))
    expect(configMount).toBe("${MCP_CONFIG_PATH:-../config.example.yaml}:/etc/security-mcp-server/config.yaml:ro")
    const config = effectiveConfig({ ...dockerEnv, ...env, MCP_AUTH_API_KEYS: SAMPLE_KEYS }, renderExampleConfig())
    expect(config.server.host).toBe("0.0.0.0")
    expect(Either.isRight(checkBindSafety(config))).toBe(true)
  })

  it("has Prometheus scrape the server under the job name the alert rules use", () => {
    const prometheus = parseYaml(read("config/deploy/prometheus.yml"))
    const job = prometheus.scrape_configs[0]
    expect(job.job_name).toBe("security-mcp-server")
    expect(job.metrics_path).toBe("/metrics")
    expect(job.static_configs[0].targets).toEqual([`security-mcp-server:${defaults.server.port}`])
    expect(read("config/prometheus-alerts.yml")).toContain(`job="${job.job_name}"`)
    const mounts: Array<string> = compose.services.prometheus.volumes
    for (const rules of prometheus.rule_files as Array<string>) expect(mounts.some((m) => m.split(":")[1] === rules)).toBe(true)
    for (const mount of mounts.filter((m) => m.startsWith("."))) {
      expect(existsSync(new URL(`config/deploy/${mount.split(":")[0]}`, root)), mount).toBe(true)
    }
  })
})

// --- Kubernetes ---------------------------------------------------------------

const kustomization = parseYaml(read("config/deploy/kubernetes/kustomization.yaml"))
const manifests: Array<any> = (kustomization.resources as Array<string>).flatMap((file) =>
  parseAllDocuments(read(`config/deploy/kubernetes/${file}`)).map((doc) => {
    expect(doc.errors).toEqual([])
    return doc.toJS()
  })
)
const byKind = (kind: string) => manifests.find((m) => m.kind === kind)

describe("config/deploy/kubernetes", () => {
  const deployment = byKind("Deployment")
  const pod = deployment.spec.template.spec
  const container = pod.containers[0]
  const env: Record<string, any> = Object.fromEntries(container.env.map((e: any) => [e.name, e]))

  it("runs the container non-root, read-only, without capabilities", () => {
    expect(pod.securityContext.runAsNonRoot).toBe(true)
    expect(pod.securityContext.runAsUser).toBe(10001)
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] }
    })
    expect(container.volumeMounts.map((m: any) => m.mountPath)).toContain("/tmp")
  })

  it("probes /health on the API port", () => {
    expect(container.ports).toEqual([{ name: "http", containerPort: defaults.server.port, protocol: "TCP" }])
    for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
      expect(container[probe].httpGet).toEqual({ path: "/health", port: "http" })
    }
  })

  it("takes API keys from a Secret and starts with the ConfigMap's config", () => {
    expectKnownVariables(Object.keys(env))
    expect(env["MCP_AUTH_API_KEYS"].valueFrom.secretKeyRef.name).toBeDefined()
    const configPath: string = env["MCP_CONFIG_FILE"].value
    const mount = container.volumeMounts.find((m: any) => m.mountPath === dirname(configPath))
    const volume = pod.volumes.find((v: any) => v.name === mount.name)
    const configMap = manifests.find((m) => m.kind === "ConfigMap" && m.metadata.name === volume.configMap.name)
    const fileText: string = configMap.data[configPath.slice(dirname(configPath).length + 1)]
    const plain = Object.fromEntries(
      Object.entries(env).filter(([, e]) => e.value !== undefined).map(([name, e]) => [name, String(e.value)])
    )
    const config = effectiveConfig({ ...plain, MCP_AUTH_API_KEYS: SAMPLE_KEYS }, fileText)
    expect(Either.isRight(checkBindSafety(config))).toBe(true)
    const auditMount = container.volumeMounts.find((m: any) => m.mountPath === dirname(config.security.audit_log_path))
    expect(pod.volumes.find((v: any) => v.name === auditMount.name).persistentVolumeClaim).toBeDefined()
    const namespace = kustomization.namespace
    expect(config.server.allowed_hosts).toContain(`security-mcp-server.${namespace}.svc.cluster.local`)
  })

  it("exposes the API port through the Service to the pods the Deployment labels", () => {
    const service = byKind("Service")
    expect(service.spec.ports[0].targetPort).toBe("http")
    expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector)
  })

  it("limits egress to DNS and the private ranges, and ingress to the API port", () => {
    const policy = byKind("NetworkPolicy")
    expect(deployment.spec.template.metadata.labels).toMatchObject(policy.spec.podSelector.matchLabels)
    expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"])
    expect(policy.spec.ingress.flatMap((rule: any) => rule.ports)).toEqual([{ port: defaults.server.port, protocol: "TCP" }])
    const blocks = policy.spec.egress.flatMap((rule: any) => (rule.to ?? []).filter((to: any) => to.ipBlock).map((to: any) => to.ipBlock))
    expect(blocks).toEqual([{ cidr: "10.0.0.0/8" }, { cidr: "172.16.0.0/12" }, { cidr: "192.168.0.0/16" }])
    const other = policy.spec.egress.filter((rule: any) => !(rule.to ?? []).some((to: any) => to.ipBlock))
    expect(other.flatMap((rule: any) => rule.ports.map((p: any) => p.port))).toEqual([53, 53])
  })
})

// --- systemd, nginx, Claude Desktop, Nix ----------------------------------------

describe("config/deploy/security-mcp-server.service", () => {
  const unit = read("config/deploy/security-mcp-server.service")
  const directives = unit.split("\n").filter((l) => /^\w+=/.test(l)).map((l) =>
    [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const
  )
  const values = (key: string) => directives.filter(([k]) => k === key).map(([, v]) => v)

  it("is hardened", () => {
    for (
      const [key, value] of [
        ["NoNewPrivileges", "yes"],
        ["ProtectSystem", "strict"],
        ["ProtectHome", "yes"],
        ["PrivateTmp", "yes"],
        ["PrivateDevices", "yes"],
        ["CapabilityBoundingSet", ""],
        ["RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX AF_NETLINK"]
      ] as const
    ) {
      expect(values(key), key).toEqual([value])
    }
    expect(values("MemoryMax")).toHaveLength(1)
    expect(values("TasksMax")).toHaveLength(1)
    expect(values("User")).toEqual(["security-mcp"])
  })

  it("runs the bundle over HTTP with real settings and a writable audit log directory", () => {
    expect(values("ExecStart")[0]).toMatch(/^\/usr\/bin\/node \S+\/dist\/server\.js serve --transport http /)
    const env = Object.fromEntries(values("Environment").map((v) => v.split("=") as [string, string]))
    expectKnownVariables(Object.keys(env))
    expect(values("ReadWritePaths")).toEqual([dirname(env["MCP_SECURITY_AUDIT_LOG_PATH"] ?? "")])
    expect(`/var/lib/${values("StateDirectory")[0]}`).toBe(values("ReadWritePaths")[0])
  })

  const systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p))
  it.skipIf(systemdAnalyze === undefined)("passes systemd-analyze verify", () => {
    const out = execFileSync(systemdAnalyze!, ["verify", new URL("config/deploy/security-mcp-server.service", root).pathname], {
      encoding: "utf8",
      stdio: "pipe"
    })
    expect(out).toBe("")
  })
})

describe("config/deploy/nginx.conf", () => {
  const conf = read("config/deploy/nginx.conf")
  const location = (path: string) => /\{([^}]*)\}/.exec(conf.slice(conf.indexOf(`location = ${path} `)))?.[1] ?? ""

  it("streams /events and /mcp unbuffered with long read timeouts", () => {
    for (const path of ["/events", "/mcp"]) {
      const block = location(path)
      expect(block, path).toContain("proxy_buffering off;")
      expect(block, path).toMatch(/proxy_read_timeout \d+h;/)
    }
    expect(conf).toContain("proxy_http_version 1.1;")
    expect(conf).toContain(`server 127.0.0.1:${defaults.server.port};`)
    expect(conf).toMatch(/ssl_certificate\s+\S+;/)
  })
})

const packageJson = JSON.parse(read("package.json"))

describe("config/deploy/claude_desktop_config.json", () => {
  it("starts this version of the npm package through npx, over stdio, with real settings", () => {
    const server = JSON.parse(read("config/deploy/claude_desktop_config.json")).mcpServers["security-mcp-server"]
    expect(server.command).toBe("npx")
    expect(server.args).toEqual(["-y", `${packageJson.name}@${packageJson.version}`, "serve", "--transport", "stdio"])
    expectKnownVariables(Object.keys(server.env))
    expect(effectiveConfig(server.env).server.transport).toBe("stdio")
  })
})

describe("README", () => {
  it("names the current version wherever it pins the package, the tarball or the extension", () => {
    const pinned = [...read("README.md").matchAll(/security-mcp-server[@-](\d+\.\d+\.\d+)/g)].map((m) => m[1])
    expect(pinned.length).toBeGreaterThan(3)
    expect(new Set(pinned)).toEqual(new Set([packageJson.version]))
  })
})

describe("config/deploy/claude_desktop_config.docker.json", () => {
  const server = JSON.parse(read("config/deploy/claude_desktop_config.docker.json")).mcpServers["security-mcp-server"]
  const args: Array<string> = server.args
  const image = args.indexOf("security-mcp-server")

  it("runs the image in stdio mode: stdin open, no TTY, removed on exit, no health check to fail", () => {
    expect(server.command).toBe("docker")
    expect(args.slice(0, 3)).toEqual(["run", "-i", "--rm"])
    for (const tty of ["-t", "-it", "-ti", "--tty"]) expect(args).not.toContain(tty)
    expect(args).toContain("--no-healthcheck")
    expect(args.slice(image + 1)).toEqual(["serve", "--transport", "stdio"])
  })

  it("is as hardened as the HTTP deployment and keeps the audit log on the image's volume", () => {
    const flags = args.slice(0, image).join(" ")
    for (const flag of ["--read-only", "--tmpfs /tmp", "--cap-drop ALL", "--security-opt no-new-privileges"]) expect(flags).toContain(flag)
    expect(flags).toContain(`-v mcp-audit:${dirname(dockerEnv["MCP_SECURITY_AUDIT_LOG_PATH"]!)}`)
  })

  it("passes exactly its env block into the container, all real settings", () => {
    const passed = args.flatMap((arg, i) => (arg === "-e" ? [args[i + 1]!] : []))
    expect(passed.every((name) => !name.includes("="))).toBe(true)
    expect(new Set(passed)).toEqual(new Set(Object.keys(server.env)))
    expectKnownVariables(passed)
    effectiveConfig({ ...dockerEnv, ...server.env })
  })

  it("serves MCP over stdio with the image's own settings (the bundle run as the container runs it)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "mcp-docker-stdio-"))
    const env = {
      ...dockerEnv,
      ...server.env,
      PATH: process.env["PATH"] ?? "",
      MCP_SECURITY_AUDIT_LOG_PATH: join(dir, "audit.jsonl"),
      MCP_HEALTH_DISK_PATH: dir
    }
    const session = await connect(process.execPath, [requireBuild(), ...args.slice(image + 1)], env, dir)
    try {
      expect(session.client.getServerVersion()?.name).toBe("security-mcp-server")
      expect((await session.client.listTools()).tools.map((t) => t.name)).toContain("NmapTool")
    } finally {
      await close(session)
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})

describe("flake.nix", () => {
  it("puts every tool on the wrapper's PATH and in the dev shell, with deps from package-lock.json", () => {
    const flake = read("flake.nix")
    const toolList = /toolsFor = pkgs: with pkgs; \[([^\]]+)\]/.exec(flake)?.[1]?.trim().split(/\s+/)
    expect(toolList).toEqual(["nmap", "iputils", "traceroute", "dnsutils", "curl", "sslscan", "masscan", "util-linux"])
    expect(flake).toContain("pkgs.importNpmLock { npmRoot = ./.; }")
    expect(flake).toContain("--prefix PATH : ${pkgs.lib.makeBinPath (toolsFor pkgs)}")
    expect(flake).toContain("packages = [ pkgs.nodejs_20")
  })
})
