import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, FastCheck, type Scope } from "effect"
import { execFileSync, spawn, spawnSync } from "node:child_process"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { type AddressInfo, createServer as createNetServer } from "node:net"
import { join } from "node:path"
import { connect as tlsConnect } from "node:tls"
import { pathIssue } from "../../src/http/normalPath.js"
import { atExit, killGroup } from "../support/cleanup.js"
import { craftedMetricsPaths, craftedPaths, normalPaths } from "../support/paths.js"
import { eventually } from "../support/server.js"
import { tempDir } from "../support/shims.js"

/**
 * Issue 13 item 2, the shipped nginx example: no spelling of a path may be
 * judged by one of its `location` rules as one route and reach the server as
 * another. Checked as data (its path rules are the server's normal form, and
 * /metrics is matched whatever the spelling), then for real when nginx is
 * installed (`.ci/setup` installs it as root), in front of an upstream as
 * lenient as a router that folds case, slashes and `;` suffixes.
 */

const conf = readFileSync(new URL("../../config/deploy/nginx.conf", import.meta.url), "utf8")

/** The `if ($request_uri …) { return 400; }` rules of the TLS server block, as JavaScript regular expressions. */
const uriRules = [...conf.matchAll(/if \(\$request_uri (!?~) "([^"]+)"\) \{ return 400; \}/g)].map(([, op, source]) => ({
  negated: op === "!~",
  pattern: new RegExp(source!)
}))

const nginxRefuses = (requestUri: string) => uriRules.some((rule) => rule.pattern.test(requestUri) !== rule.negated)

describe("config/deploy/nginx.conf as data", () => {
  it("refuses every crafted path and none of the API's own, query strings aside", () => {
    expect(uriRules.length).toBeGreaterThan(0)
    for (const path of craftedPaths) expect(nginxRefuses(path), path).toBe(true)
    for (const path of normalPaths) {
      expect(nginxRefuses(path), path).toBe(false)
      expect(nginxRefuses(`${path}?a=%2F..//;`), path).toBe(false)
    }
  })

  it.prop(
    "refuses exactly the paths the server refuses",
    [FastCheck.stringMatching(/^\/?[a-zA-Z0-9/.;%\\:@~_\-!$&'()*+,=#|" \u00e9]{0,16}$/)],
    ([path]) => {
      expect(nginxRefuses(path), path).toBe(pathIssue(path) !== undefined)
    },
    { fastCheck: { numRuns: 2000 } }
  )

  it.prop(
    "agrees with the server on every percent-encoding",
    [FastCheck.integer({ min: 0, max: 255 }), FastCheck.boolean()],
    ([byte, lower]) => {
      const hex = byte.toString(16).padStart(2, "0")
      const path = `/tools/a%${lower ? hex : hex.toUpperCase()}b`
      expect(nginxRefuses(path), path).toBe(pathIssue(path) !== undefined)
    }
  )

  it("keeps /metrics from the internet under any spelling: a case-insensitive regular expression, no exact or prefix location", () => {
    expect(conf).toMatch(/location ~\* \^\/metrics \{\s*allow 127\.0\.0\.1;\s*allow ::1;\s*deny all;/)
    expect(conf).not.toMatch(/^\s*location (=|\^~)? ?\/metrics/m)
  })
})

const nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path))

/** A free loopback port (asked of the kernel; nginx cannot listen on port 0). */
const freePort = Effect.async<number>((resume) => {
  const server = createNetServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * An upstream that serves its secret on every spelling the old router took
 * for /metrics: `;` cut, decoded, `//` merged, trailing `/` dropped, case folded.
 */
const lenientUpstream = Effect.acquireRelease(
  Effect.async<{ readonly port: number; readonly close: () => void }>((resume) => {
    const server = createServer((req, res) => {
      const path = decodeURI((req.url ?? "/").split(/[;?#]/)[0]!).replace(/\/+/g, "/").replace(/(.)\/$/, "$1").toLowerCase()
      res.end(path === "/metrics" ? "# HELP secret_metric only for the scraper\n" : `upstream saw ${req.url}\n`)
    })
    server.listen(
      0,
      "127.0.0.1",
      () => resume(Effect.succeed({ port: (server.address() as AddressInfo).port, close: () => server.close() }))
    )
  }),
  (upstream) => Effect.sync(upstream.close)
)

/**
 * The shipped server blocks inside a minimal nginx.conf: loopback ports
 * instead of 80/443, a throw-away certificate, and `allow` lines dropped so
 * /metrics is denied to everyone: the test client is on loopback, which the
 * shipped file trusts, so any metrics it reads came through a bypass.
 */
const testConfig = (dir: string, ports: { readonly http: number; readonly https: number; readonly upstream: number }) => {
  execFileSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=mcp.example.com",
    "-keyout",
    join(dir, "key.pem"),
    "-out",
    join(dir, "cert.pem")
  ], { stdio: "ignore" })
  const shipped = conf
    .replace("server 127.0.0.1:8080;", `server 127.0.0.1:${ports.upstream};`)
    .replace(/listen \[::\]:\d+[^;]*;\n/g, "")
    .replace("listen 80;", `listen 127.0.0.1:${ports.http};`)
    .replace("listen 443 ssl http2;", `listen 127.0.0.1:${ports.https} ssl http2;`)
    .replace(/ssl_certificate\s+\S+;/, `ssl_certificate ${join(dir, "cert.pem")};`)
    .replace(/ssl_certificate_key\s+\S+;/, `ssl_certificate_key ${join(dir, "key.pem")};`)
    .replace(/\s*allow (127\.0\.0\.1|::1);/g, "")
  expect(shipped).not.toMatch(/^\s*allow /m)
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((name) => `${name}_temp_path ${join(dir, name)};`).join("\n")
  return `daemon off;\nmaster_process off;\npid ${
    join(dir, "nginx.pid")
  };\nerror_log stderr warn;\nevents {}\nhttp {\naccess_log off;\n${temp}\n${shipped}\n}\n`
}

const startNginx = (dir: string, ports: Parameters<typeof testConfig>[1]): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function*() {
    const file = join(dir, "nginx.conf")
    writeFileSync(file, testConfig(dir, ports))
    const check = spawnSync(nginx!, ["-t", "-e", "stderr", "-p", dir, "-c", file], { encoding: "utf8" })
    expect(check.status, check.stderr).toBe(0)
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(nginx!, ["-e", "stderr", "-p", dir, "-c", file], { stdio: "ignore", detached: true })
        const forget = atExit(() => killGroup(child.pid ?? -1))
        return { child, forget }
      }),
      ({ child, forget }) =>
        Effect.sync(() => {
          killGroup(child.pid ?? -1)
          forget()
        })
    )
    yield* eventually("nginx listens", Effect.map(Effect.either(get(ports.https, "/health")), (r) => r._tag === "Right"))
  })

/** One request over TLS with `target` sent byte for byte; the status and body nginx answered. */
const get = (port: number, target: string) =>
  Effect.async<{ readonly status: number; readonly body: string }, Error>((resume) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: "mcp.example.com", rejectUnauthorized: false }, () => {
      socket.write(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: mcp.example.com\r\nConnection: close\r\n\r\n`, "latin1"))
    })
    let text = ""
    socket.on("data", (chunk) => (text += chunk.toString("latin1")))
    socket.on("error", (error) => resume(Effect.fail(error)))
    socket.on("end", () => {
      const split = text.indexOf("\r\n\r\n")
      resume(Effect.succeed({ status: Number(text.slice(9, 12)), body: text.slice(split + 4) }))
    })
  })

describe("config/deploy/nginx.conf in a real nginx", () => {
  it.scopedLive(
    "no spelling of /metrics reaches the upstream's metrics; the API's paths pass, crafted ones get 400",
    (ctx) =>
      Effect.gen(function*() {
        if (nginx === undefined) return ctx.skip("nginx is not installed (.ci/setup installs it when run as root)")
        const dir = yield* tempDir("nginx-test")
        const upstream = yield* lenientUpstream
        const ports = { http: yield* freePort, https: yield* freePort, upstream: upstream.port }
        yield* startNginx(dir, ports)
        for (const target of [...craftedMetricsPaths, "/metrics"]) {
          const reply = yield* get(ports.https, target)
          expect([target, reply.status, reply.body.includes("secret_metric")]).toEqual([target, reply.status, false])
          expect([400, 403], target).toContain(reply.status)
        }
        for (const target of craftedPaths.filter((path) => path.startsWith("/"))) {
          expect([target, (yield* get(ports.https, target)).status]).toEqual([target, 400])
        }
        for (const target of ["/tools", "/tools/NmapTool/execute", "/health"]) {
          const reply = yield* get(ports.https, target)
          expect([target, reply.status, reply.body]).toEqual([target, 200, `upstream saw ${target}\n`])
        }
      }),
    Duration.toMillis(Duration.seconds(60))
  )
})
