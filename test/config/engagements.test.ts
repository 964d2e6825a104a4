import { NodeFileSystem } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Queue } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ConfigLive, loadOnce } from "../../src/config/ConfigLive.js"
import { ConfigService } from "../../src/config/ConfigService.js"
import { engagementsDir, loadConfig } from "../../src/config/load.js"
import { semanticProblems } from "../../src/config/semantics.js"
import { Events, type TimedEvent } from "../../src/events/Events.js"

const load = (config: unknown, files?: ReadonlyArray<{ name: string; text: string }>) =>
  loadConfig({
    fileText: JSON.stringify(config),
    env: {},
    ...(files === undefined ? {} : { engagementFiles: { dir: "/etc/engagements", files } })
  })

const problems = (config: unknown) =>
  Either.match(load(config), { onLeft: (e) => e.issues, onRight: ({ config: c }) => semanticProblems(c) })

const key = (id: string, engagements: ReadonlyArray<string>) => ({ id, sha256: id.padEnd(64, "0"), engagements })

describe("engagements in the configuration", () => {
  it("inline engagements get their defaults; keys name the engagements they act in", () => {
    const loaded = Either.getOrThrow(
      load({ engagements: [{ name: "lab", targets: ["10.0.0.0/24"] }], auth: { api_keys: [key("a", ["lab"])] } })
    )
    expect(loaded.config.engagements[0]).toEqual({
      name: "lab",
      targets: ["10.0.0.0/24"],
      exclude: [],
      windows: [],
      tiers: ["passive", "safe"],
      approval: "intrusive"
    })
    expect(loaded.config.auth.api_keys[0]?.engagements).toEqual(["lab"])
    expect(semanticProblems(loaded.config)).toEqual([])
  })

  it("refuses bad scopes, windows, names used twice or by nobody, and approvals without storage", () => {
    expect(problems({ engagements: [{ name: "lab", targets: ["10.0.0.0/24", "a*.lab.internal"], exclude: ["10.0.0.0/33"] }] })).toEqual([
      "engagements.lab.targets: 'a*.lab.internal': a wildcard is only accepted as the whole first label (*.domain)",
      "engagements.lab.exclude: '10.0.0.0/33': not a CIDR, an address, a host name or a *.domain wildcard"
    ])
    expect(problems({ engagements: [{ name: "lab", targets: ["10.0.0.1"], windows: [{ start: "8:00", end: "18:00" }] }] }).join())
      .toContain("engagements.0.windows.0.start")
    expect(problems({ engagements: [{ name: "lab", targets: ["10.0.0.1"] }, { name: "lab", targets: ["10.0.0.2"] }] })).toContain(
      "engagements: duplicate name lab"
    )
    expect(problems({ auth: { api_keys: [key("a", ["ghost"])] } })).toContain("auth.api_keys.a.engagements: there is no engagement ghost")
    expect(problems({ server: { stdio_engagement: "ghost" } })).toContain("server.stdio_engagement: there is no engagement ghost")
    expect(problems({ storage: { enabled: false }, engagements: [{ name: "lab", targets: ["10.0.0.1"] }] })).toEqual([
      "engagements.lab.approval: intrusive needs storage.enabled: true, since pending approvals are stored"
    ])
    expect(problems({ engagements: [{ name: "lab", targets: ["10.0.0.1"], from: "2025-06-10", until: "2025-06-01" }] })).toEqual([
      "engagements.lab: from 2025-06-10 is after until 2025-06-01"
    ])
  })

  it("engagement files add one engagement or a list each, after the inline ones", () => {
    const loaded = Either.getOrThrow(load({ engagements: [{ name: "inline", targets: ["10.0.0.1"] }] }, [
      { name: "a.yaml", text: "name: a\ntargets: [10.0.1.0/24]\n" },
      { name: "b.json", text: JSON.stringify([{ name: "b", targets: ["10.0.2.0/24"] }, { name: "c", targets: ["10.0.3.0/24"] }]) }
    ]))
    expect(loaded.config.engagements.map((e) => e.name)).toEqual(["inline", "a", "b", "c"])
    const bad = load({}, [{ name: "x.yaml", text: "just text" }])
    expect(Either.isLeft(bad) && bad.left.message).toContain("/etc/engagements/x.yaml must hold one engagement")
    const proto = load({}, [{ name: "p.json", text: "{\"__proto__\": {\"approval\": \"none\"}}" }])
    expect(Either.isLeft(proto)).toBe(true)
  })

  it("engagements_dir is relative to the config file", () => {
    expect(engagementsDir({ fileText: "engagements_dir: scopes\n", env: {} }, "/etc/mcp/config.yaml", "/")).toBe("/etc/mcp/scopes")
    expect(engagementsDir({ fileText: "", env: { MCP_ENGAGEMENTS_DIR: "/srv/scopes" } }, undefined, "/")).toBe("/srv/scopes")
    expect(engagementsDir({ fileText: "", env: {} }, "/etc/mcp/config.yaml", "/")).toBeUndefined()
  })
})

const nextEvent = (queue: Queue.Dequeue<TimedEvent>, type: TimedEvent["type"]) =>
  Queue.take(queue).pipe(Effect.repeat({ until: (e) => e.type === type }))

const replace = (file: string, text: string) => {
  fs.writeFileSync(`${file}.tmp`, text)
  fs.renameSync(`${file}.tmp`, file)
}

describe("engagements_dir hot reload", () => {
  it.scopedLive(
    "a changed engagement file reloads; a broken or writable one is rejected and the previous scope stays",
    () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mcp-engagements-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
        fs.mkdirSync(path.join(dir, "scopes"), { mode: 0o755 })
        const file = path.join(dir, "config.yaml")
        fs.writeFileSync(file, "server:\n  config_watch_interval: 0.1\nengagements_dir: scopes\n")
        const scope = path.join(dir, "scopes", "lab.yaml")
        fs.writeFileSync(scope, "name: lab\ntargets: [10.0.0.0/24]\n")
        fs.writeFileSync(path.join(dir, "scopes", ".hidden.yaml"), "not: read")
        const source = { file, env: {} }
        const layer = Layer.unwrapEffect(Effect.map(loadOnce(source), (loaded) => ConfigLive(source, loaded))).pipe(
          Layer.provideMerge(Events.layer),
          Layer.provide(NodeFileSystem.layer)
        )
        const context = yield* Layer.build(layer)
        const config = yield* Effect.provide(ConfigService, context)
        const queue = yield* (yield* Effect.provide(Events, context)).subscribe
        expect((yield* config.get).engagements.map((e) => e.targets)).toEqual([["10.0.0.0/24"]])

        replace(scope, "name: lab\ntargets: [10.0.0.0/25]\n")
        const reloaded = yield* nextEvent(queue, "config.reloaded")
        expect(reloaded.type === "config.reloaded" && reloaded.changed).toEqual(["engagements"])
        expect((yield* config.get).engagements[0]?.targets).toEqual(["10.0.0.0/25"])

        replace(scope, "name: lab\ntargets: [10.0.0.0/99]\n")
        const rejected = yield* nextEvent(queue, "config.rejected")
        expect(rejected.type === "config.rejected" && rejected.issues.join()).toContain("engagements.lab.targets")
        expect((yield* config.get).engagements[0]?.targets).toEqual(["10.0.0.0/25"])

        replace(scope, "name: lab\ntargets: [10.0.0.0/26]\n")
        fs.chmodSync(scope, 0o666)
        const writable = yield* nextEvent(queue, "config.rejected")
        expect(writable.type === "config.rejected" && writable.issues.join()).toContain("writable by group and others")
        expect((yield* config.get).engagements[0]?.targets).toEqual(["10.0.0.0/25"])
      }),
    15_000
  )
})
