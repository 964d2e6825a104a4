import { FileSystem, Path } from "@effect/platform"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { generatedFiles, staleFiles } from "./generate.js"

/**
 * `npm run docs` writes the generated README sections and the example
 * config; `npm run docs -- --check` only reports files that differ (for CI)
 * and exits 1 if any do. Paths are relative to the working directory, which
 * npm sets to the repository root.
 */

const readIfExists = (fs: FileSystem.FileSystem, file: string) =>
  Effect.flatMap(fs.exists(file), (exists) => (exists ? fs.readFileString(file) : Effect.succeed(undefined)))

const program = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const check = process.argv.slice(2).includes("--check")
  const readme = yield* readIfExists(fs, "README.md")
  const files = yield* Effect.forEach(
    generatedFiles(readme),
    (file) => Effect.map(readIfExists(fs, file.path), (current) => ({ ...file, current }))
  )
  const stale = staleFiles(files)
  if (check) {
    if (stale.length === 0) return yield* Console.log("docs: generated files are up to date")
    yield* Console.error(`docs: out of date, run \`npm run docs\`: ${stale.join(", ")}`)
    return yield* Effect.sync(() => process.exit(1))
  }
  for (const file of files.filter((f) => stale.includes(f.path))) {
    yield* fs.makeDirectory(path.dirname(file.path), { recursive: true })
    yield* fs.writeFileString(file.path, file.content)
  }
  yield* Console.log(stale.length === 0 ? "docs: nothing to update" : `docs: wrote ${stale.join(", ")}`)
})

NodeRuntime.runMain(program.pipe(Effect.provide(NodeContext.layer)))
