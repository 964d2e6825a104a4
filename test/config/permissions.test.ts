import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Queue } from "effect"
import { execFileSync } from "node:child_process"
import { chmodSync, chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigLive, loadOnce } from "../../src/config/ConfigLive.js"
import { ConfigService } from "../../src/config/ConfigService.js"
import { checkConfigPermissions, permissionProblems } from "../../src/config/permissions.js"
import type { ConfigInvalid } from "../../src/errors.js"
import { Events, type TimedEvent } from "../../src/events/Events.js"

const root = process.geteuid?.() === 0

const scratch = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "config-perms-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const configIn = (dir: string, mode = 0o600, text = "security:\n  timeout_seconds: 100\n") => {
  const file = join(dir, "config.yaml")
  writeFileSync(file, text)
  chmodSync(file, mode)
  return file
}

const refusal = (file: string, env: Record<string, string> = {}) =>
  Effect.flip(checkConfigPermissions(file, env)).pipe(Effect.map((e: ConfigInvalid) => e.issues.join("\n")))

describe("item 8: config file permissions", () => {
  it("judges a path by its group/other write bits and its owner", () => {
    const file = { path: "/etc/x.yaml", kind: "file" as const, mode: 0o100644, uid: 1000, readOnlyFileSystem: false }
    expect(permissionProblems(file, 1000)).toEqual([])
    expect(permissionProblems({ ...file, uid: 0 }, 1000)).toEqual([])
    expect(permissionProblems({ ...file, mode: 0o100664 }, 1000)).toEqual([
      "/etc/x.yaml (file, mode 0664) is writable by group: run chmod go-w /etc/x.yaml"
    ])
    expect(permissionProblems({ ...file, mode: 0o100666 }, 1000)[0]).toContain("writable by group and others")
    expect(permissionProblems({ ...file, kind: "directory", mode: 0o41777 }, 1000)[0]).toContain(
      "mode 1777) is writable by group and others"
    )
    expect(permissionProblems({ ...file, uid: 1001 }, 1000)).toEqual([
      "/etc/x.yaml (file) is owned by uid 1001, neither this server's user (uid 1000) nor root: run chown 1000 /etc/x.yaml"
    ])
    expect(permissionProblems({ ...file, kind: "symlink", mode: 0o120777 }, 1000)).toEqual([])
    expect(permissionProblems({ ...file, mode: 0o100666, uid: 1001, readOnlyFileSystem: true }, 1000)).toEqual([])
  })

  it.scoped("accepts a file only its owner can write, and refuses group/other-writable files and directories", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const file = configIn(dir)
      yield* checkConfigPermissions(file, {})
      chmodSync(file, 0o664)
      expect(yield* refusal(file)).toContain(`run chmod go-w ${file}`)
      chmodSync(file, 0o646)
      expect(yield* refusal(file)).toContain("writable by others")
      chmodSync(file, 0o600)
      chmodSync(dir, 0o1777)
      expect(yield* refusal(file)).toContain(`${dir} (directory, mode 1777)`)
      chmodSync(dir, 0o700)
    }))

  it.scoped("follows a symlink to the real file and checks its directory too", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const shared = join(dir, "shared")
      mkdirSync(shared, { mode: 0o777 })
      chmodSync(shared, 0o777)
      const real = configIn(shared)
      const safe = join(dir, "safe")
      mkdirSync(safe, { mode: 0o700 })
      const link = join(safe, "config.yaml")
      symlinkSync(real, link)
      expect(yield* refusal(link)).toContain(`${shared} (directory, mode 0777) is writable by group and others`)
    }))

  it.scoped.skipIf(!root)("refuses a file or directory owned by another non-root user", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const file = configIn(dir)
      chownSync(file, 65534, 65534)
      expect(yield* refusal(file)).toContain(`${file} (file) is owned by uid 65534`)
      chownSync(file, 0, 0)
      chownSync(dir, 65534, 65534)
      expect(yield* refusal(file)).toContain(`${dir} (directory) is owned by uid 65534`)
    }))

  it.scoped.skipIf(!root)("trusts any mode on a read-only file system (ConfigMaps, :ro mounts)", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const mount = join(dir, "ro")
      mkdirSync(mount)
      const mounted = yield* Effect.acquireRelease(
        Effect.sync(() => {
          try {
            execFileSync("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", mount])
            return true
          } catch {
            return false
          }
        }),
        (ok) => Effect.sync(() => ok && execFileSync("umount", [mount]))
      )
      if (!mounted) return
      const file = configIn(mount, 0o666)
      expect(yield* refusal(file)).toContain("writable by group and others")
      execFileSync("mount", ["-o", "remount,ro", mount])
      yield* checkConfigPermissions(file, {})
    }))

  it.scoped("the override accepts the file", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const file = configIn(dir, 0o666)
      yield* checkConfigPermissions(file, { MCP_CONFIG_ALLOW_INSECURE_PERMISSIONS: "true" })
      expect(yield* refusal(file, { MCP_CONFIG_ALLOW_INSECURE_PERMISSIONS: "no" })).toContain("writable")
    }))
})

const withConfig = (file: string, env: Record<string, string> = {}) =>
  Layer.unwrapEffect(Effect.map(loadOnce({ file, env }), (loaded) => ConfigLive({ file, env }, loaded))).pipe(
    Layer.provideMerge(Events.layer),
    Layer.provide(NodeFileSystem.layer)
  )

const nextEvent = (queue: Queue.Dequeue<TimedEvent>, type: TimedEvent["type"]) =>
  Queue.take(queue).pipe(Effect.repeat({ until: (e) => e.type === type }))

describe("item 8: ConfigLive refuses to start and to reload", () => {
  it.scopedLive("on a group-writable config file, with the fix in the error", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const file = configIn(dir, 0o664)
      const exit = yield* Effect.exit(Layer.build(withConfig(file)))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(JSON.stringify(exit)).toContain(`chmod go-w ${file}`)
      const overridden = yield* Layer.build(withConfig(file, { MCP_CONFIG_ALLOW_INSECURE_PERMISSIONS: "1" }))
      const config = yield* Effect.provide(ConfigService, overridden)
      expect((yield* config.get).security.timeout_seconds).toBe(100)
    }))

  it.scopedLive("when the directory becomes writable by others, until it is fixed", () =>
    Effect.gen(function*() {
      const dir = yield* scratch
      const file = configIn(dir, 0o600, "server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 100\n")
      const context = yield* Layer.build(withConfig(file))
      const config = yield* Effect.provide(ConfigService, context)
      const queue = yield* (yield* Effect.provide(Events, context)).subscribe
      chmodSync(dir, 0o777)
      writeFileSync(`${file}.new`, "server:\n  config_watch_interval: 0.1\nsecurity:\n  timeout_seconds: 200\n  allow_intrusive: true\n")
      renameSync(`${file}.new`, file)
      const rejected = yield* nextEvent(queue, "config.rejected")
      expect(rejected.type === "config.rejected" && rejected.issues.join("\n")).toContain("writable by group and others")
      expect((yield* config.get).security.allow_intrusive).toBe(false)
      chmodSync(dir, 0o700)
      yield* nextEvent(queue, "config.reloaded")
      expect((yield* config.get).security.allow_intrusive).toBe(true)
    }), 20_000)
})
