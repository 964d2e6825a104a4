import { Option, SchemaAST as AST } from "effect"

/**
 * Reads what the documentation needs from a Schema AST: the type as an
 * operator writes it in a config file (the encoded side), the operator's
 * description, the clamping range and the defaults of optional fields.
 */

/** Effect's built-in refinements describe themselves ("a string", "an integer"); only the schema author's descriptions are documentation. */
const isBuiltinDescription = (text: string) => /^an? [a-z]/.test(text)

/** The author's description on a field schema, looking through the wrappers Schema adds around it. */
export const descriptionOf = (ast: AST.AST): string | undefined => {
  const own = Option.getOrUndefined(AST.getDescriptionAnnotation(ast))
  if (own !== undefined && !isBuiltinDescription(own)) return own
  switch (ast._tag) {
    case "Refinement":
      return descriptionOf(ast.from)
    case "Transformation":
      return descriptionOf(ast.from)
    case "Union": {
      const defined = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
      return defined.length === 1 && defined[0] !== undefined ? descriptionOf(defined[0]) : undefined
    }
    default:
      return undefined
  }
}

export interface Range {
  readonly minimum: number
  readonly maximum: number
}

/** The clamp range, from the `jsonSchema` annotation of `bounded`/`boundedInt` (src/config/bounded.ts). */
export const rangeOf = (ast: AST.AST): Range | undefined => {
  const json = Option.getOrUndefined(AST.getJSONSchemaAnnotation(ast)) as Record<string, unknown> | undefined
  if (json !== undefined && typeof json["minimum"] === "number" && typeof json["maximum"] === "number") {
    return { minimum: json["minimum"], maximum: json["maximum"] }
  }
  if (ast._tag === "Union") {
    const defined = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
    return defined.length === 1 && defined[0] !== undefined ? rangeOf(defined[0]) : undefined
  }
  return undefined
}

const patternOf = (ast: AST.AST): string | undefined => {
  const json = Option.getOrUndefined(AST.getJSONSchemaAnnotation(ast)) as Record<string, unknown> | undefined
  return typeof json?.["pattern"] === "string" ? json["pattern"] : undefined
}

/** A struct's type-level property signatures, whether or not it has optional fields with defaults (a Transformation). */
export const structFields = (ast: AST.AST): ReadonlyArray<AST.PropertySignature> | undefined => {
  if (ast._tag === "TypeLiteral" && ast.indexSignatures.length === 0) return ast.propertySignatures
  if (ast._tag === "Transformation") return structFields(ast.from)
  if (ast._tag === "Refinement") return structFields(ast.from)
  return undefined
}

/** The value an omitted optional field decodes to, read from the struct's own default functions. */
export const fieldDefault = (structAst: AST.AST, name: string): Option.Option<unknown> => {
  if (structAst._tag !== "Transformation" || structAst.transformation._tag !== "TypeLiteralTransformation") return Option.none()
  const entry = structAst.transformation.propertySignatureTransformations.find((t) => t.from === name)
  return entry === undefined ? Option.none() : entry.decode(Option.none())
}

/** The type as written in a config file, e.g. `integer`, `"stdio" \| "http"`, `list of string`. */
export const typeText = (ast: AST.AST): string => {
  switch (ast._tag) {
    case "StringKeyword":
      return "string"
    case "NumberKeyword":
      return "number"
    case "BooleanKeyword":
      return "boolean"
    case "Literal":
      return JSON.stringify(ast.literal)
    case "Union":
      return ast.types.filter((t) => t._tag !== "UndefinedKeyword").map(typeText).join(" | ")
    case "TupleType": {
      const rest = ast.rest[0]
      return rest === undefined ? "list" : `list of ${typeText(rest.type)}`
    }
    case "TypeLiteral": {
      const index = ast.indexSignatures[0]
      if (index !== undefined) return `map of ${typeText(index.parameter)} to ${typeText(index.type)}`
      const fields = ast.propertySignatures.map((p) => `${String(p.name)}${p.isOptional ? "?" : ""}: ${typeText(p.type)}`)
      return `{ ${fields.join(", ")} }`
    }
    case "Refinement": {
      const json = Option.getOrUndefined(AST.getJSONSchemaAnnotation(ast)) as Record<string, unknown> | undefined
      if (json?.["type"] === "integer") return "integer"
      const pattern = patternOf(ast)
      return pattern === undefined ? typeText(ast.from) : `${typeText(ast.from)} matching \`${pattern}\``
    }
    case "Transformation":
      return typeText(ast.from)
    default:
      return String(ast)
  }
}

/** The element struct of a list or map of structs, for a nested field table. */
export const nestedStruct = (ast: AST.AST): AST.AST | undefined => {
  switch (ast._tag) {
    case "TupleType": {
      const rest = ast.rest[0]?.type
      return rest !== undefined && structFields(rest) !== undefined ? rest : undefined
    }
    case "TypeLiteral": {
      const value = ast.indexSignatures[0]?.type
      return value !== undefined && structFields(value) !== undefined ? value : undefined
    }
    case "Union": {
      const defined = ast.types.filter((t) => t._tag !== "UndefinedKeyword")
      return defined.length === 1 && defined[0] !== undefined ? nestedStruct(defined[0]) : undefined
    }
    default:
      return undefined
  }
}
