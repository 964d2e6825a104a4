import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { loadConfig } from "../../src/config/load.js"

/** Item 6: a `__proto__` key anywhere in the config is an unknown key, never a prototype swap. */
const load = (fileText: string | undefined, env: Record<string, string> = {}) => loadConfig({ fileText, fileSource: "test.yaml", env })

describe("config __proto__ keys", () => {
  const documents: ReadonlyArray<[string, string, string]> = [
    ["top level", "__proto__:\n  allow_intrusive: true\n", "__proto__"],
    ["top level, JSON", "{\"__proto__\": {\"security\": {\"allow_intrusive\": true}}}", "__proto__"],
    ["in a section", "security:\n  __proto__:\n    allow_intrusive: true\n", "security.__proto__"],
    ["under tools", "tools:\n  __proto__:\n    NmapTool:\n      enabled: false\n", "tools.__proto__"],
    [
      "in a list item",
      "custom_tools:\n  - name: T\n    description: d\n    binary: host\n    flags: []\n    __proto__: {intrusive: true}\n",
      "custom_tools[0].__proto__"
    ]
  ]
  it.each(documents)("is refused %s", (_label, text, path) => {
    const result = load(text)
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left._tag).toBe("ConfigInvalid")
      expect(result.left.issues.join("\n")).toContain(`${path}: is unexpected`)
    }
  })

  it("leaves no inherited setting behind", () => {
    const result = load("security:\n  __proto__:\n    allow_intrusive: true\n")
    expect(Either.isLeft(result)).toBe(true)
  })

  it("is refused in a JSON environment value, which is reported and skipped", () => {
    const result = load(undefined, { MCP_TOOLS: "{\"__proto__\": {\"NmapTool\": {\"enabled\": false}}}" })
    expect(Either.isRight(result)).toBe(true)
    if (Either.isRight(result)) {
      expect(result.right.warnings.join("\n")).toContain("MCP_TOOLS")
      expect(result.right.warnings.join("\n")).toContain("__proto__")
      expect(Object.getPrototypeOf(result.right.config.tools)).toBe(Object.prototype)
      expect(result.right.config.tools).toEqual({})
    }
  })

  it("other prototype names are ordinary keys: unknown in a section, a plain entry under tools", () => {
    const unknown = load("security:\n  constructor: 1\n")
    expect(Either.isLeft(unknown) && unknown.left.issues.join("\n")).toContain("security.constructor")
    const tools = load("tools:\n  toString:\n    enabled: false\n")
    expect(Either.isRight(tools) && Object.hasOwn(tools.right.config.tools, "toString")).toBe(true)
  })
})
