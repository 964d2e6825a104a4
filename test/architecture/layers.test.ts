import { describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import ts from "typescript"

/**
 * The layer order of `src/`, lowest first: a folder may import from its own
 * layer and the ones before it, never from a later one. Files directly in
 * `src/` (errors, JSON values) are the bottom layer. A new folder must be
 * placed here before it can be imported from.
 */
export const LAYERS: ReadonlyArray<ReadonlyArray<string>> = [
  ["."],
  ["identity"],
  ["events"],
  ["policy"],
  ["config"],
  ["runner"],
  ["observability"],
  ["resilience"],
  ["storage"],
  ["tools"],
  ["results"],
  ["reports"],
  ["execution"],
  ["ui", "watch"],
  ["mcp"],
  ["http"],
  ["docs", "main"]
]

const SRC = resolve(import.meta.dirname, "../../src")

const sourceFiles = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(name) ? [path] : []
  })

const folderOf = (file: string): string => {
  const parts = relative(SRC, file).split("/")
  return parts.length === 1 ? "." : parts[0]!
}

const layerOf = (folder: string): number => LAYERS.findIndex((layer) => layer.includes(folder))

/** Relative imports of a file (static, type-only, re-exports and dynamic), resolved to source paths. */
const importsOf = (file: string): ReadonlyArray<string> =>
  ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles
    .map((ref) => ref.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => resolve(dirname(file), name).replace(/\.js$/, ".ts"))
    .map((path) => (!existsSync(path) && existsSync(`${path}x`) ? `${path}x` : path))
    .filter((path) => path.startsWith(SRC))

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
const cycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): ReadonlyArray<ReadonlyArray<string>> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const found: Array<ReadonlyArray<string>> = []
  const visit = (node: string) => {
    index.set(node, index.size)
    low.set(node, index.get(node)!)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: Array<string> = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) found.push(component)
    }
  }
  for (const node of graph.keys()) if (!index.has(node)) visit(node)
  return found
}

describe("source layers", () => {
  const files = sourceFiles(SRC)
  const graph = new Map(files.map((file) => [file, importsOf(file)]))
  const name = (file: string) => relative(SRC, file)

  it("every folder of src has a place in the layer order", () => {
    const folders = [...new Set(files.map(folderOf))]
    expect(folders.filter((folder) => layerOf(folder) < 0)).toEqual([])
  })

  it("no folder imports from a higher layer", () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports
        .filter((target) => layerOf(folderOf(target)) > layerOf(folderOf(file)))
        .map((target) => `${name(file)} -> ${name(target)}`)
    )
    expect(upward).toEqual([])
  })

  it("every relative import names a file that exists", () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !graph.has(target)).map((t) => `${name(file)} -> ${name(t)}`)
    )
    expect(missing).toEqual([])
  })

  it("there are no import cycles", () => {
    expect(cycles(graph).map((component) => component.map(name).sort())).toEqual([])
  })
})
