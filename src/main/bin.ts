/**
 * The executable: loads the bundled server (`main.cjs`) through a V8 code
 * cache. Compiling the 2 MB bundle and the functions start-up runs is most of
 * Node 20's start-up time (Node 22's `module.enableCompileCache` does the
 * same natively); with the cache a stdio client gets its `initialize` answer
 * in about half the time.
 *
 * The build writes `main.cjs.v8cache` next to the bundle and the npm package
 * ships it. V8 rejects a cache made by another Node version (or for another
 * source), and the bundle then compiles as usual; the fresh cache is written
 * next to the bundle when that directory is writable (a clone, an npx or
 * extension directory), else to the user's cache directory (a global install
 * owned by root, a read-only image), keyed by Node version and bundle.
 *
 * It is CommonJS (dist/package.json says so for the files beside it): Node 20
 * starts an ES module entry ~5 ms later, for its module loader and a module
 * facade per builtin imported.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs"
import Module, { createRequire } from "node:module"
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { Script } from "node:vm"

// The real path: Node resolves the symlink npm puts in a bin directory before it runs the launcher.
const directory = __dirname
const file = join(directory, "main.cjs")
const shippedCache = `${file}.v8cache`

const userCache = (): string | undefined => {
  try {
    const bundle = statSync(file)
    const root = process.env["XDG_CACHE_HOME"] ||
      join(homedir(), process.platform === "darwin" ? "Library/Caches" : ".cache")
    const key = `${process.version}-${process.arch}-${bundle.size}-${Math.trunc(bundle.mtimeMs)}`
    return join(root, "security-mcp-server", `main-${key}.v8cache`)
  } catch {
    return undefined
  }
}

/**
 * The bundle and its cache are read into memory V8 maps itself (a
 * WebAssembly.Memory, unmapped when collected), not into Buffers: glibc
 * serves a multi-megabyte Buffer with mmap and, once it is freed, raises its
 * mmap and trim thresholds to that size for the rest of the process, after
 * which it keeps the memory freed below it instead of giving it back (~7 MB
 * more resident for an idle server). A plain array where V8 offers no Memory.
 */
const scratch = (bytes: number): Uint8Array => {
  try {
    return new Uint8Array(new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) }).buffer, 0, bytes)
  } catch {
    return new Uint8Array(bytes)
  }
}

const readWhole = (path: string): Uint8Array => {
  const fd = openSync(path, "r")
  try {
    const data = scratch(fstatSync(fd).size)
    let read = 0
    for (let n = -1; read < data.length && n !== 0; read += n) n = readSync(fd, data, read, data.length - read, read)
    return data.subarray(0, read)
  } finally {
    closeSync(fd)
  }
}

/**
 * A code cache is code: one found outside the installation is used only when
 * this user owns it and nobody else can write it, so a shared HOME or cache
 * directory cannot hand the server someone else's bytecode.
 */
const readCache = (path: string | undefined, trusted: boolean): Uint8Array | undefined => {
  if (path === undefined) return undefined
  try {
    if (!trusted) {
      const info = statSync(path)
      if ((process.getuid !== undefined && info.uid !== process.getuid()) || (info.mode & 0o022) !== 0) return undefined
    }
    return readWhole(path)
  } catch {
    return undefined
  }
}

/** Writes through a temporary file, so a concurrent start never reads half a cache. */
const writeCache = (path: string, data: Buffer, mode: number): boolean => {
  const temporary = `${path}.${process.pid}.tmp`
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    writeFileSync(temporary, data, { mode })
    renameSync(temporary, path)
    return true
  } catch {
    rmSync(temporary, { force: true })
    return false
  }
}

/**
 * The bundle compiled with the best cache available. The cache's buffer is not kept: only what V8 made of it.
 * A user cache exists only where the shipped one did not fit this Node or could not be rewritten: it goes first.
 */
const compile = () => {
  const fallback = userCache()
  const cachedData = readCache(fallback, false) ?? readCache(shippedCache, true)
  // A fixed name, not the path: the cache is written at build time and must not carry the build machine's paths.
  const source = readWhole(file)
  const script = new Script(Module.wrap(Buffer.from(source.buffer, source.byteOffset, source.byteLength).toString("utf8")), {
    filename: "security-mcp-server/main.cjs",
    cachedData
  })
  return { script, fallback, rejected: script.cachedDataRejected !== false }
}
const { fallback, rejected, script } = compile()

/**
 * A cache made after start-up holds the bytecode of every function start-up ran (V8 compiles a function when
 * it is first called), not only of the top level: the build writes it when its warm-up run exits. Where the shipped cache does not fit, a fresh one is written once the server has run for a while (or
 * at exit, if sooner); next to the bundle it is as readable as the bundle, in the user's cache only the user's.
 */
let written = false
const writeFresh = () => {
  if (written) return
  written = true
  const data = script.createCachedData()
  if (!writeCache(shippedCache, data, 0o644) && fallback !== undefined) writeCache(fallback, data, 0o600)
}
if (process.env["SECURITY_MCP_SERVER_CODE_CACHE"] === "write") {
  process.on("exit", writeFresh)
} else if (rejected) {
  setTimeout(writeFresh, 5000).unref()
  process.on("exit", writeFresh)
}

const module = { exports: {} }
script.runInThisContext()(module.exports, createRequire(file), module, file, directory)
