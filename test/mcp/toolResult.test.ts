import { describe, expect, it } from "@effect/vitest"
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv"
import { JSONSchema, Schema } from "effect"
import * as Errors from "../../src/errors.js"
import { errorBody } from "../../src/errors.js"
import { JsonValue } from "../../src/JsonValue.js"
import { errorToolResult, ExecutionMeta, executionMeta, executionToolResult, outputSchemaFor } from "../../src/mcp/toolResult.js"
import { FENCE_NOTE } from "../../src/tools/summary/fence.js"
import { nmapOutputSchema, resultFor } from "../http/fakes.js"

const validator = new AjvJsonSchemaValidator()
const validate = (schema: Record<string, unknown>, value: unknown) => validator.getValidator(schema as never)(value).valid

describe("MCP tool results", () => {
  it("success results validate against the wrapped output schema (with $defs hoisted)", () => {
    const schema = outputSchemaFor(nmapOutputSchema)
    expect(schema.type).toBe("object")
    expect(schema.$schema).toBeUndefined()
    const result = executionToolResult(resultFor("NmapTool", "127.0.0.1"))
    expect(result.isError).toBe(false)
    expect(validate(schema, result.structuredContent)).toBe(true)
    expect(validate(schema, { result: { hosts: [{ port: 1 }] }, execution: result.structuredContent?.["execution"] })).toBe(false)
  })

  it("failed processes are isError with the same structured shape", () => {
    const schema = outputSchemaFor(nmapOutputSchema)
    const result = executionToolResult(
      resultFor("NmapTool", "127.0.0.1", { returncode: 1, error: "exit code 1", error_type: "exit_code", structured: null, stderr: "boom" })
    )
    expect(result.isError).toBe(true)
    expect(result.content).toEqual([{ type: "text", text: `Error: exit code 1\n\n1 host up: 127.0.0.1\n\nstderr:\n«boom»\n${FENCE_NOTE}` }])
    expect(validate(schema, result.structuredContent)).toBe(true)
  })

  it("typed errors validate too, carry their fields, and never a stack", () => {
    const schema = outputSchemaFor(nmapOutputSchema)
    const result = errorToolResult(new Errors.ArgumentRejected({ token: "--script=x", rule: "script-not-allowed", message: "no" }))
    expect(result.isError).toBe(true)
    expect(result.structuredContent).toEqual({
      error: { _tag: "ArgumentRejected", message: "no", token: "--script=x", rule: "script-not-allowed" }
    })
    expect(validate(schema, result.structuredContent)).toBe(true)
    expect(validate(outputSchemaFor(null), result.structuredContent)).toBe(true)
    expect(Object.keys(errorBody(new Errors.SpawnFailed({ command: "nmap", message: "m" })))).toEqual(["_tag", "message", "command"])
  })

  it("tools without a parser accept any result", () => {
    const schema = outputSchemaFor(null)
    const result = executionToolResult(resultFor("PingTool", "127.0.0.1", { structured: null }))
    expect(validate(schema, result.structuredContent)).toBe(true)
    expect(validate(schema, {})).toBe(false)
  })

  it("the execution part carries exactly the ExecutionMeta fields, taken from the result", () => {
    const result = resultFor("NmapTool", "127.0.0.1", { signal: "SIGKILL", returncode: null })
    const meta = executionMeta(result)
    expect(Schema.decodeUnknownSync(ExecutionMeta)(meta, { onExcessProperty: "error" })).toEqual(meta)
    expect(meta).toMatchObject({ tool: "NmapTool", signal: "SIGKILL", returncode: null, ...result.metadata })
  })

  it("the schema compiles when the tool's own schema holds arbitrary JSON values too", () => {
    const toolSchema = JSONSchema.make(Schema.Struct({ raw: Schema.Unknown, extra: JsonValue })) as unknown as Record<string, unknown>
    const schema = outputSchemaFor(toolSchema)
    const result = errorToolResult(new Errors.RateLimited({ scope: "client", retryAfterSeconds: 3, message: "slow down" }))
    expect(validate(schema, result.structuredContent)).toBe(true)
    expect(validate(schema, { error: { message: "no tag" } })).toBe(false)
  })
})
