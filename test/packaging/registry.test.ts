import { describe, expect, it } from "@effect/vitest"
import AjvModule from "ajv"
import addFormatsModule from "ajv-formats"
import { join } from "node:path"
import { environmentNames } from "../../src/config/load.js"
import { packageJson, readJson, root } from "./support.js"

/**
 * config/deploy/server.json is what `mcp-publisher publish config/deploy/server.json`
 * sends to the MCP registry. It is validated against the registry's schema of
 * the version it names, vendored under test/fixtures (never fetched here).
 */

// ajv and ajv-formats are CommonJS: under NodeNext their classes are the modules' default exports.
const Ajv = AjvModule.default
const addFormats = addFormatsModule.default

const schemaUrl = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
const server = readJson(join(root, "config/deploy/server.json"))
const schema = readJson(join(root, "test/fixtures/registry/server.schema.2025-12-11.json"))

const validator = () => {
  // The registry's schema carries OpenAPI's `example` keyword, which strict mode would refuse.
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats(ajv)
  return ajv.compile(schema)
}

describe("MCP registry entry (config/deploy/server.json)", () => {
  it("names the current schema version, the one vendored", () => {
    expect(server.$schema).toBe(schemaUrl)
    expect(schema.$id).toBe(schemaUrl)
  })

  it("is valid against that schema", () => {
    const validate = validator()
    expect(validate(server), JSON.stringify(validate.errors, null, 2)).toBe(true)
  })

  it("the schema is really checked: a bad name and a version range are refused", () => {
    const validate = validator()
    expect(validate({ ...server, name: "no-namespace" })).toBe(false)
    expect(validate({ ...server, packages: [{ ...server.packages[0], version: "latest" }] })).toBe(false)
  })

  it("names this npm package, its version and the stdio transport; the registry's ownership check (mcpName) agrees", () => {
    expect(server.version).toBe(packageJson.version)
    expect(server.name).toBe(packageJson.mcpName)
    expect(server.packages).toHaveLength(1)
    expect(server.packages[0]).toMatchObject({
      registryType: "npm",
      identifier: packageJson.name,
      version: packageJson.version,
      transport: { type: "stdio" }
    })
  })

  it("passes only real settings as environment variables", () => {
    const known = new Set([...environmentNames().map((e) => e.name), "MCP_CONFIG_FILE"])
    for (const variable of server.packages[0].environmentVariables) expect(known).toContain(variable.name)
  })
})
