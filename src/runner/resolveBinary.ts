import { Effect } from "effect"
import { constants } from "node:fs"
import { access, stat } from "node:fs/promises"
import * as Path from "node:path"
import { SpawnFailed } from "../errors.js"

/** The PATH children get, and the search path when the server has none. */
export const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

const isExecutableFile = (path: string): Effect.Effect<boolean> =>
  Effect.promise(async () => {
    try {
      const info = await stat(path)
      if (!info.isFile()) return false
      await access(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  })

/**
 * Resolves a binary name to the absolute path of an executable regular file.
 * Absolute paths are checked as they are; names are looked up in `searchPath`
 * (the server's PATH by default). Relative paths and empty PATH entries are
 * refused because they would depend on the working directory.
 */
export const resolveBinary = (
  name: string,
  searchPath: string = process.env["PATH"] ?? SAFE_PATH
): Effect.Effect<string, SpawnFailed> =>
  Effect.gen(function*() {
    if (name.length === 0) {
      return yield* new SpawnFailed({ command: name, message: "empty binary name" })
    }
    if (Path.isAbsolute(name)) {
      if (yield* isExecutableFile(name)) return name
      return yield* new SpawnFailed({ command: name, message: `${name} is not an executable file` })
    }
    if (name.includes("/")) {
      return yield* new SpawnFailed({ command: name, message: `relative binary path ${name} is not allowed` })
    }
    for (const dir of searchPath.split(":")) {
      if (!Path.isAbsolute(dir)) continue
      const candidate = Path.join(dir, name)
      if (yield* isExecutableFile(candidate)) return candidate
    }
    return yield* new SpawnFailed({ command: name, message: `${name} not found on PATH` })
  })
