import { HttpApi, type HttpApiGroup, OpenApi } from "@effect/platform"
import { Context, Option } from "effect"
import * as AST from "effect/SchemaAST"
import type { ServerInfo } from "../mcp/McpServer.js"
import { RequireScope } from "./api/security.js"

/** OpenAPI's `{name}` for HttpApi's `:name`. */
const openApiPath = (path: string) => path.replace(/:(\w+)\??/g, "{$1}")

/**
 * HttpApi's own decoding error: no route of ours decodes a body, query or
 * header through HttpApi (path parameters are plain strings), and the guard
 * would answer one as InvalidInput, which every route documents.
 */
const DECODE_ERROR = "HttpApiDecodeError"

const annotation = (ast: AST.AST, id: symbol): string | undefined => {
  const value = ast.annotations[id]
  return typeof value === "string" ? value : undefined
}

const members = (ast: AST.AST): ReadonlyArray<AST.AST> => (AST.isUnion(ast) ? ast.types.flatMap(members) : [ast])

/** `Tag: what it means` for each error body a status can have; the description alone for a success. */
const describe = (ast: AST.AST, isError: boolean): ReadonlyArray<string> =>
  members(ast).flatMap((member) => {
    const id = annotation(member, AST.IdentifierAnnotationId)
    const description = annotation(member, AST.DescriptionAnnotationId)
    if (id === DECODE_ERROR || description === undefined) return []
    return [isError && id !== undefined ? `${id}: ${description}` : description]
  })

interface OperationNotes {
  /** The scope a key needs, as the role of the bearer requirement (OpenAPI 3.1 allows roles for any scheme). */
  readonly scope: string | undefined
  /** Status → a description naming every body it can have, instead of the first one's. */
  readonly responses: ReadonlyMap<string, string>
}

const SCOPES = Object.entries(RequireScope) as ReadonlyArray<[string, unknown]>

/** What the generated document leaves out, keyed by "path method", from the definition. */
const operationNotes = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
) => {
  const out = new Map<string, OperationNotes>()
  HttpApi.reflect(api, {
    onGroup: () => undefined,
    onEndpoint: ({ endpoint, errors, middleware, successes }) => {
      const responses = new Map<string, string>()
      for (const [statuses, isError] of [[successes, false], [errors, true]] as const) {
        for (const [status, { ast }] of statuses) {
          const parts = Option.match(ast, { onNone: () => [], onSome: (member) => describe(member, isError) })
          if (parts.length > 0) responses.set(String(status), parts.join("; "))
        }
      }
      const scope = SCOPES.find(([, tag]) => middleware.has(tag as never))?.[0]
      out.set(`${openApiPath(endpoint.path)} ${endpoint.method.toLowerCase()}`, { scope, responses })
    }
  })
  return out
}

const isDecodeErrorRef = (schema: unknown) =>
  typeof schema === "object" && schema !== null && (schema as { $ref?: unknown }).$ref === `#/components/schemas/${DECODE_ERROR}`

/** A response body schema without the decode error. */
const withoutDecodeError = (schema: any) => {
  if (!Array.isArray(schema?.anyOf)) return schema
  const rest = schema.anyOf.filter((member: unknown) => !isDecodeErrorRef(member))
  return rest.length === 1 ? rest[0] : { ...schema, anyOf: rest }
}

const refsIn = (value: unknown, found: Set<string>): Set<string> => {
  if (Array.isArray(value)) value.forEach((item) => refsIn(item, found))
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === "$ref" && typeof item === "string") found.add(item.replace("#/components/schemas/", ""))
      else refsIn(item, found)
    }
  }
  return found
}

/** Components reachable from the paths or named in `roots`. */
const reachable = (spec: OpenApi.OpenAPISpec, roots: ReadonlyArray<string>) => {
  const seen = new Set<string>(roots)
  const queue = [...refsIn(spec.paths, new Set()), ...roots]
  while (queue.length > 0) {
    const name = queue.pop()!
    seen.add(name)
    for (const ref of refsIn(spec.components.schemas[name], new Set())) if (!seen.has(ref)) queue.push(ref)
  }
  return seen
}

const polishResponses = (responses: Record<string, any>, notes: OperationNotes | undefined) =>
  Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [status, {
      ...response,
      description: notes?.responses.get(status) ?? response.description,
      ...(response.content === undefined ? {} : {
        content: Object.fromEntries(
          Object.entries(response.content).map((
            [type, media]: [string, any]
          ) => [type, { ...media, schema: withoutDecodeError(media.schema) }])
        )
      })
    }])
  )

const polishOperation = (operation: any, notes: OperationNotes | undefined) => ({
  ...operation,
  ...(notes?.scope === undefined ? {} : { security: [{ bearer: [notes.scope] }] }),
  responses: polishResponses(operation.responses, notes)
})

const polish = (spec: OpenApi.OpenAPISpec, notes: ReadonlyMap<string, OperationNotes>, roots: ReadonlyArray<string>) => {
  const paths = Object.fromEntries(
    Object.entries(spec.paths).map(([path, operations]) => [
      path,
      Object.fromEntries(
        Object.entries(operations).map(([method, operation]) => [method, polishOperation(operation, notes.get(`${path} ${method}`))])
      )
    ])
  ) as OpenApi.OpenAPISpec["paths"]
  const cleaned = { ...spec, paths }
  const keep = reachable(cleaned, roots)
  const schemas = Object.fromEntries(Object.entries(spec.components.schemas).filter(([name]) => keep.has(name)))
  return { ...cleaned, components: { ...spec.components, schemas } }
}

/** The OpenAPI 3.1 document of `api`: every path, status and body comes from its definition. */
export const openApiDocument = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  info: ServerInfo
): OpenApi.OpenAPISpec => {
  const spec = OpenApi.fromApi(api.annotate(OpenApi.Title, info.name).annotate(OpenApi.Version, info.version))
  const roots = Context.getOrElse(api.annotations, HttpApi.AdditionalSchemas, () => [])
  return polish(spec, operationNotes(api), roots.flatMap((schema) => AST.getIdentifierAnnotation(schema.ast).pipe(Option.toArray)))
}

/** "METHOD /path" of every endpoint of `api`, the methods of one path joined by `|`, in definition order. */
export const endpointList = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>
): ReadonlyArray<string> => {
  const methods = new Map<string, Array<string>>()
  HttpApi.reflect(api, {
    onGroup: () => undefined,
    onEndpoint: ({ endpoint }) => {
      const path = openApiPath(endpoint.path)
      methods.set(path, [...(methods.get(path) ?? []), endpoint.method])
    }
  })
  return [...methods].map(([path, verbs]) => `${verbs.join("|")} ${path}`)
}
