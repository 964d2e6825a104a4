import { Schema } from "effect"

const JSON_TYPES = ["object", "array", "string", "number", "boolean", "null"]

/**
 * Any JSON value, rendered as an explicit type list: Effect renders `Unknown`
 * with `$id: "/schemas/unknown"`, and ajv rejects a schema in which that id
 * appears twice. An overriding `jsonSchema` annotation hides `description`,
 * so a described value carries it inside.
 */
export const jsonValue = (description?: string) =>
  Schema.Unknown.annotations({
    ...(description === undefined ? {} : { description }),
    jsonSchema: { type: JSON_TYPES, ...(description === undefined ? {} : { description }) }
  })

export const JsonValue = jsonValue()

export const JsonObject = Schema.Record({ key: Schema.String, value: JsonValue })
