import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { stringify } from "yaml"
import { environmentNames, loadConfig } from "../../src/config/load.js"
import { AppConfig, defaults } from "../../src/config/schema.js"
import { configSections } from "../../src/docs/configReference.js"
import {
  beginMarker,
  endMarker,
  extractSection,
  README_SECTIONS,
  renderExampleConfig,
  renderSections,
  renderToolReference,
  settingExamples,
  updateReadme
} from "../../src/docs/generate.js"
import { customOptions } from "../../src/main/customOptions.js"
import { builtinTools } from "../../src/tools/builtins.js"
import { customToolSpecs } from "../../src/tools/custom.js"

const root = new URL("../../", import.meta.url)
const read = (path: string) => (existsSync(new URL(path, root)) ? readFileSync(new URL(path, root), "utf8") : undefined)
const decodedDefaults = Schema.decodeUnknownSync(AppConfig)(defaults)

describe("committed generated files", () => {
  it("README.md sections match the generator (run `npm run docs` after changing the schema or a tool)", () => {
    const readme = read("README.md")
    expect(readme, "README.md is missing: run `npm run docs`").toBeDefined()
    const sections = renderSections()
    for (const name of README_SECTIONS) {
      expect(extractSection(readme ?? "", name), `README section '${name}' is stale: run \`npm run docs\``).toBe(sections[name])
    }
  })

  it("config/config.example.yaml matches the generator (run `npm run docs`)", () => {
    expect(read("config/config.example.yaml"), "config/config.example.yaml is stale: run `npm run docs`").toBe(renderExampleConfig())
  })
})

describe("config/config.example.yaml", () => {
  it("loads with loadConfig to exactly the defaults, without warnings", () => {
    const loaded = loadConfig({ fileText: renderExampleConfig(), fileSource: "config.example.yaml", env: {} })
    expect(Either.isRight(loaded)).toBe(true)
    if (Either.isRight(loaded)) {
      expect(loaded.right.config).toEqual(decodedDefaults)
      expect(loaded.right.warnings).toEqual([])
    }
  })

  it("its commented examples load when uncommented, and the custom tool is accepted", () => {
    const file: Record<string, Record<string, unknown> | unknown> = {}
    for (const [path, example] of Object.entries(settingExamples)) {
      const [section, key] = path.split(".") as [string, string | undefined]
      if (key === undefined) file[section] = example.value
      else file[section] = { ...(file[section] as Record<string, unknown> | undefined), [key]: example.value }
    }
    const loaded = loadConfig({ fileText: stringify(file), env: {} })
    expect(Either.isRight(loaded)).toBe(true)
    if (Either.isRight(loaded)) {
      expect(loaded.right.warnings).toEqual([])
      expect(Either.isRight(customToolSpecs(loaded.right.config.custom_tools, customOptions(loaded.right.config)))).toBe(true)
      const builtinNames = builtinTools.map((t) => t.name)
      for (const name of Object.keys(loaded.right.config.tools)) expect(builtinNames).toContain(name)
    }
  })

  it("documents every setting and every environment variable name the loader accepts", () => {
    const text = renderExampleConfig()
    for (const { name } of environmentNames()) expect(text).toContain(name)
    const documented = configSections().flatMap((s) => s.settings.map((setting) => setting.path))
    expect(new Set(documented)).toEqual(new Set(environmentNames().map((e) => e.path)))
  })
})

describe("configuration reference", () => {
  const reference = renderSections().config

  it("lists each setting with its env var, default, range and description from the schema", () => {
    expect(reference).toContain(
      "| `server.port` | `MCP_SERVER_PORT` | integer | `8080` | 0 – 65535 | HTTP port (0 picks a free port) |"
    )
    expect(reference).toContain("`MCP_LOGGING_LEVEL`, `LOG_LEVEL`")
    expect(reference).toContain("\"stdio\" \\| \"http\"")
    expect(reference).toContain("#### Fields of each `auth.api_keys` entry")
    expect(reference).toContain(
      "| `scopes` | list of \"execute\" \\| \"intrusive\" \\| \"admin\" \\| \"approve\" \\| \"schedule\" | optional, default `[\"execute\"]` |"
    )
  })

  it("has one row per documented setting and every row has the table's column count", () => {
    const rows = reference.split("\n").filter((line) => line.startsWith("| `"))
    for (const row of rows) {
      const cells = row.replace(/\\\|/g, "").split("|").length - 2
      expect([5, 6]).toContain(cells)
    }
  })
})

describe("tool reference", () => {
  const reference = renderToolReference(builtinTools)

  it("documents every allowed flag of every built-in tool with its marks", () => {
    for (const tool of builtinTools) {
      expect(reference).toContain(`### ${tool.name} — ${tool.title}`)
      for (const flag of tool.flags) expect(reference).toContain(`| \`${flag.name}\``)
      for (const template of tool.templates) expect(reference).toContain(`| \`${template.name}\` | \`${template.args.join(" ")}\``)
    }
    expect(reference).toMatch(/\| `-A` \| — \| intrusive; privileged \|/)
    expect(reference).toMatch(/\| `-sS` \| — \| privileged \|/)
    expect(reference).toContain("intrusive values: `AXFR`, `IXFR`")
  })
})

describe("updateReadme", () => {
  const sections = { config: "new config", tools: "new tools" }

  it("creates the sections when the README has none, then only replaces text between markers", () => {
    const created = updateReadme(undefined, sections)
    expect(created).toBe(
      `${beginMarker("config")}\nnew config\n${endMarker("config")}\n\n${beginMarker("tools")}\nnew tools\n${endMarker("tools")}\n`
    )
    const handWritten = `# Title\n\nIntro.\n\n## Configuration\n\n${beginMarker("config")}\nold\n${
      endMarker("config")
    }\n\nMiddle text.\n\n${beginMarker("tools")}\nold\n${endMarker("tools")}\n\n## License\nMIT\n`
    const updated = updateReadme(handWritten, sections)
    expect(updated).toBe(handWritten.replace("old", "new config").replace("old", "new tools"))
    expect(updateReadme(updated, sections)).toBe(updated)
  })

  it("extractSection reads back what updateReadme wrote", () => {
    const text = updateReadme("# Title\n", sections)
    expect(extractSection(text, "config")).toBe("new config")
    expect(extractSection(text, "tools")).toBe("new tools")
    expect(extractSection("# no markers", "config")).toBeUndefined()
  })
})
