/**
 * The executable: loads the bundled server (`main.cjs`) through a V8 code
 * cache. Compiling the 4 MB bundle is most of Node 20's start-up time (Node
 * 22's `module.enableCompileCache` does the same natively); with the cache
 * written at build time, a stdio client gets its `initialize` answer in about
 * two thirds of the time. V8 rejects a cache that does not match the source or
 * the Node version, and the bundle then compiles as usual.
 */
import { readFileSync, writeFileSync } from "node:fs"
import Module, { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Script } from "node:vm"

const directory = dirname(fileURLToPath(import.meta.url))
const file = join(directory, "main.cjs")
const cacheFile = `${file}.v8cache`

const readCache = (): Buffer | undefined => {
  try {
    return readFileSync(cacheFile)
  } catch {
    return undefined
  }
}

const cachedData = readCache()
// A fixed name, not the path: the cache is written at build time and must not carry the build machine's paths.
const script = new Script(Module.wrap(readFileSync(file, "utf8")), { filename: "security-mcp-server/main.cjs", cachedData })
if (cachedData === undefined || script.cachedDataRejected === true) {
  try {
    writeFileSync(cacheFile, script.createCachedData())
  } catch {
    // A read-only installation simply runs without the cache.
  }
}
const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(file), module, file, directory)
