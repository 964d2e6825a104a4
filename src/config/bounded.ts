import { Number as N, Schema } from "effect"

/**
 * A numeric setting brought into [min, max] rather than refused (load.ts warns that it was): what
 * `Schema.clamp` decodes to, with the range as the JSON Schema annotation the configuration reference reads
 * (src/docs/schemaText.ts). Unlike `Schema.clamp`, no refinement checks the clamped value again on the type side:
 * the configuration has some 70 of these, all built before a stdio server can answer `initialize`, and that
 * refinement made each one cost three times as much to build.
 */
const clamped = (base: Schema.Schema<number>, min: number, max: number, description: string) =>
  Schema.transform(base, Schema.typeSchema(base), {
    strict: true,
    decode: (n) => N.clamp(n, { minimum: min, maximum: max }),
    encode: (n) => n
  }).annotations({ description, jsonSchema: { minimum: min, maximum: max } })

export const bounded = (min: number, max: number, description: string) => clamped(Schema.Number, min, max, description)

export const boundedInt = (min: number, max: number, description: string) => clamped(Schema.Int, min, max, description)
