import { describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync, statSync } from "node:fs"
import { builtinModules } from "node:module"
import { join } from "node:path"
import { packageJson, readJson, root } from "./support.js"

/**
 * package.json `dependencies` is the one list of packages the build leaves
 * outside the bundle (`.ci/build.mjs` passes it to esbuild as `external`), so
 * it is exactly what the published package needs at run time. Checked here
 * against what esbuild actually did (the metafile of `npm run build`).
 */

interface Metafile {
  readonly outputs: Record<string, {
    readonly inputs: Record<string, { readonly bytesInOutput: number }>
    readonly imports: ReadonlyArray<{ readonly path: string; readonly external?: boolean }>
  }>
}

const metafilePath = join(root, "dist/main.cjs.meta.json")
const packageOf = (specifier: string) => specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/")
const isBuiltin = (specifier: string) => specifier.startsWith("node:") || builtinModules.includes(specifier.split("/")[0]!)
const installed = (name: string) => existsSync(join(root, "node_modules", name, "package.json"))

/** A package with a native addon cannot be bundled: its .node file is loaded from its own directory. */
const isNative = (dir: string): boolean => {
  const walk = (path: string): boolean =>
    statSync(path).isDirectory()
      ? readdirSync(path).some((entry) => entry !== "node_modules" && walk(join(path, entry)))
      : path.endsWith(".node") || path.endsWith("binding.gyp")
  return walk(dir)
}

describe("what stays outside the bundle", () => {
  const metafile = (): Metafile["outputs"][string] => {
    if (!existsSync(metafilePath)) throw new Error(`${metafilePath} is missing: run \`npm run build\` (\`npm test\` does)`)
    return readJson<Metafile>(metafilePath).outputs["dist/main.cjs"]!
  }

  it("every runtime dependency is left external, and every installed external is a runtime dependency", () => {
    const externals = new Set(
      metafile().imports.filter((i) => i.external === true && !isBuiltin(i.path)).map((i) => packageOf(i.path))
    )
    const dependencies = Object.keys(packageJson.dependencies)
    for (const name of dependencies) expect(externals, `${name} is a dependency but bundled or unused`).toContain(name)
    // ws's optional accelerators (bufferutil, utf-8-validate) are required inside try/catch and not installed:
    // esbuild leaves such requires alone, and the code runs without them, here as after `npm install`.
    const installedExternals = [...externals].filter(installed).sort()
    expect(installedExternals).toEqual([...dependencies].sort())
  })

  it("bundles no package with a native addon (it must be a runtime dependency instead)", () => {
    // Package directory (nested ones included) of every input that made it into the output.
    const bundled = new Set(
      Object.entries(metafile().inputs)
        .filter(([path, input]) => path.includes("node_modules/") && input.bytesInOutput > 0)
        .map(([path]) => {
          const start = path.lastIndexOf("node_modules/") + "node_modules/".length
          return join(root, path.slice(0, start), packageOf(path.slice(start)))
        })
    )
    expect(bundled.size).toBeGreaterThan(10)
    const native = [...bundled].filter(isNative).map((dir) => dir.slice(root.length + 1))
    expect(native, `native modules in the bundle: add them to package.json dependencies (npm install --save-exact)`).toEqual([])
  })
})
