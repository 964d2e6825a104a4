import { describe, expect, it } from "@effect/vitest"
import { cpSync, mkdirSync, readFileSync, rmSync } from "node:fs"
import { dirname, join } from "node:path"
import { cleanEnv, npm, packageJson, readJson, root, tempDir } from "./support.js"

/** `npm version` moves every pinned copy of the version along with package.json (the "version" script). */
describe("npm version", () => {
  it("updates server.json, the extension manifest, the Claude Desktop entry and the README", async () => {
    const copy = tempDir("mcp-version-")
    try {
      const pinned = [
        "config/deploy/server.json",
        "config/deploy/mcpb/manifest.json",
        "config/deploy/claude_desktop_config.json",
        "README.md"
      ]
      for (const path of ["package.json", ".ci/version.mjs", ...pinned]) {
        mkdirSync(dirname(join(copy, path)), { recursive: true })
        cpSync(join(root, path), join(copy, path))
      }
      await npm(["version", "7.8.9", "--no-git-tag-version"], copy, cleanEnv())
      const server = readJson(join(copy, "config/deploy/server.json"))
      expect([server.version, server.packages[0].version]).toEqual(["7.8.9", "7.8.9"])
      expect(readJson(join(copy, "config/deploy/mcpb/manifest.json")).version).toBe("7.8.9")
      for (const path of pinned.slice(2)) {
        const text = readFileSync(join(copy, path), "utf8")
        expect(text, path).toContain(`${packageJson.name}@7.8.9`)
        expect(text, path).not.toContain(`${packageJson.name}@${packageJson.version}`)
        expect(text, path).not.toContain(`${packageJson.name}-${packageJson.version}.`)
      }
    } finally {
      rmSync(copy, { recursive: true, force: true })
    }
  }, 60_000)
})
