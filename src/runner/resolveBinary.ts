import { Effect } from "effect"
import { accessSync, constants, statSync } from "node:fs"
import * as Path from "node:path"
import { SpawnFailed } from "../errors.js"

/** The PATH children get, and the search path when the server has none. */
export const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/**
 * Synchronous on purpose: a stat of a directory entry the kernel has cached
 * takes microseconds, a round trip through libuv's thread pool a hundred
 * times that, and start-up looks up every tool on every PATH entry.
 */
export const isExecutableFile = (path: string): boolean => {
  const info = statSync(path, { throwIfNoEntry: false })
  if (info === undefined || !info.isFile()) return false
  try {
    accessSync(path, constants.X_OK)
    return true
  } catch {
    return false
  }
}

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
  Effect.suspend(() => {
    if (name.length === 0) {
      return Effect.fail(new SpawnFailed({ command: name, message: "empty binary name" }))
    }
    if (Path.isAbsolute(name)) {
      return isExecutableFile(name)
        ? Effect.succeed(name)
        : Effect.fail(new SpawnFailed({ command: name, message: `${name} is not an executable file` }))
    }
    if (name.includes("/")) {
      return Effect.fail(new SpawnFailed({ command: name, message: `relative binary path ${name} is not allowed` }))
    }
    for (const dir of searchPath.split(":")) {
      if (!Path.isAbsolute(dir)) continue
      const candidate = Path.join(dir, name)
      if (isExecutableFile(candidate)) return Effect.succeed(candidate)
    }
    return Effect.fail(new SpawnFailed({ command: name, message: `${name} not found on PATH` }))
  })
