import { describe, expect, it } from "@effect/vitest"
import { Either, Redacted, Schema } from "effect"
import { mergeDeep } from "../../src/config/ConfigService.js"
import { changedPaths, loadConfig } from "../../src/config/load.js"
import { AppConfig, defaults, restartRequired } from "../../src/config/schema.js"
import { chooseBackend, publicLocation, storageDirectory } from "../../src/storage/backend.js"

const storage = (patch: Record<string, unknown>) => Schema.decodeUnknownSync(AppConfig)(mergeDeep(defaults, { storage: patch })).storage

describe("choosing the store", () => {
  it("keeps the SQLite store in data/ beside the config file, or under the working directory", () => {
    expect(storageDirectory("", "/etc/mcp/config.yaml", "/srv")).toBe("/etc/mcp/data")
    expect(storageDirectory("", "conf/config.yaml", "/srv")).toBe("/srv/conf/data")
    expect(storageDirectory("", undefined, "/srv")).toBe("/srv/data")
    expect(storageDirectory("state", "/etc/mcp/config.yaml", "/srv")).toBe("/srv/state")
    expect(storageDirectory("/var/lib/mcp", undefined, "/srv")).toBe("/var/lib/mcp")
    expect(chooseBackend(storage({}), undefined, "/srv")).toEqual({
      _tag: "sqlite",
      directory: "/srv/data",
      file: "/srv/data/store.sqlite"
    })
  })

  it("a postgres:// URL selects PostgreSQL, shown without its password", () => {
    const backend = chooseBackend(storage({ url: "postgres://scanner:s3cret@db.internal:5433/mcp?sslmode=require" }), undefined, "/")
    expect(backend).toMatchObject({ _tag: "postgres", location: "postgres://scanner@db.internal:5433/mcp" })
    expect(publicLocation("postgresql://db.internal/mcp")).toBe("postgres://db.internal/mcp")
    expect(publicLocation("postgres://[bad")).toBe("postgres://(unparsable URL)")
  })
})

describe("storage settings", () => {
  it("read MCP_STORAGE_URL as a secret: redacted in JSON, never quoted in a warning", () => {
    const loaded = loadConfig({ env: { MCP_STORAGE_URL: "postgres://u:pw-123@h/db", MCP_STORAGE_PATH: "/x" } })
    if (Either.isLeft(loaded)) throw loaded.left
    expect(Redacted.value(loaded.right.config.storage.url)).toBe("postgres://u:pw-123@h/db")
    expect(loaded.right.config.storage.path).toBe("/x")
    expect(JSON.stringify(loaded.right.config)).not.toContain("pw-123")

    const bad = loadConfig({ env: { MCP_STORAGE_URL: "mysql://u:pw-456@h/db" } })
    if (Either.isLeft(bad)) throw bad.left
    expect(bad.right.warnings.join("\n")).toContain("MCP_STORAGE_URL")
    expect(bad.right.warnings.join("\n")).not.toContain("pw-456")
    expect(Redacted.value(bad.right.config.storage.url)).toBe("")

    const inFile = loadConfig({ fileText: "storage:\n  url: mysql://u:pw-789@h/db\n", env: {} })
    expect(Either.isLeft(inFile) && inFile.left.issues.join("\n")).toContain("storage.url: must be empty")
    expect(Either.isLeft(inFile) && inFile.left.issues.join("\n")).not.toContain("pw-789")
  })

  it("a changed URL is a change (applied after a restart), though it prints as <redacted>", () => {
    const a = storage({ url: "postgres://a/db" })
    const b = storage({ url: "postgres://b/db" })
    expect(changedPaths({ storage: a }, { storage: b })).toEqual(["storage.url"])
    expect(changedPaths({ storage: a }, { storage: storage({ url: "postgres://a/db" }) })).toEqual([])
    expect(restartRequired).toEqual(expect.arrayContaining(["storage.enabled", "storage.path", "storage.url"]))
  })

  it("retention limits default to 90 days, 100,000 scans and 1 GiB, and are clamped", () => {
    expect(storage({}).retention).toEqual({ max_age_days: 90, max_scans: 100000, max_bytes: 1073741824 })
    expect(storage({ retention: { max_age_days: -5 } }).retention.max_age_days).toBe(0)
  })
})
