import { Effect } from "effect"
import { createHash } from "node:crypto"
import { accessSync, constants, statSync } from "node:fs"
import { open, realpath, stat } from "node:fs/promises"
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

/** What a resolved binary really is: the file behind every symlink, and what its content says. */
export interface BinaryFile {
  /** The path with every symlink resolved. */
  readonly realPath: string
  readonly device: number
  readonly inode: number
  readonly size: number
  /** The interpreter line of a `#!` script, without `#!`. */
  readonly shebang: string | undefined
  /** The first of `markers` found in the file, if any. */
  readonly marker: string | undefined
}

/** At most this much of a file is searched for markers; loaders and multi-call binaries are far smaller. */
const MARKER_SCAN_BYTES = 64 * 1024 * 1024

/** Finds the first marker in a file, reading it in chunks that overlap by the longest marker. */
const findMarker = async (path: string, markers: ReadonlyArray<string>): Promise<string | undefined> => {
  if (markers.length === 0) return undefined
  const needles = markers.map((text) => ({ text, bytes: Buffer.from(text, "utf8") }))
  const overlap = Math.max(...needles.map((n) => n.bytes.length)) - 1
  const handle = await open(path, "r")
  try {
    const chunk = Buffer.alloc(1024 * 1024)
    let carry = Buffer.alloc(0)
    for (let offset = 0; offset < MARKER_SCAN_BYTES;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset)
      if (bytesRead === 0) return undefined
      const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)])
      const found = needles.find((n) => window.includes(n.bytes))
      if (found !== undefined) return found.text
      carry = Buffer.from(window.subarray(Math.max(0, window.length - overlap)))
      offset += bytesRead
    }
    return undefined
  } finally {
    await handle.close()
  }
}

const readShebang = async (path: string): Promise<string | undefined> => {
  const handle = await open(path, "r")
  try {
    const head = Buffer.alloc(256)
    const { bytesRead } = await handle.read(head, 0, head.length, 0)
    const text = head.subarray(0, bytesRead).toString("latin1")
    return text.startsWith("#!") ? text.slice(2).split("\n")[0]!.trim() : undefined
  } finally {
    await handle.close()
  }
}

/** Resolves symlinks and reads what identifies the file: device and inode, size, a `#!` line and known markers. */
export const inspectBinary = (path: string, markers: ReadonlyArray<string> = []): Effect.Effect<BinaryFile, SpawnFailed> =>
  Effect.tryPromise({
    try: async () => {
      const realPath = await realpath(path)
      const info = await stat(realPath)
      const shebang = await readShebang(realPath)
      const marker = shebang === undefined ? await findMarker(realPath, markers) : undefined
      return { realPath, device: info.dev, inode: info.ino, size: info.size, shebang, marker }
    },
    catch: (cause) => new SpawnFailed({ command: path, message: `cannot inspect ${path}: ${String(cause)}` })
  })

/** The SHA-256 of a file, to recognise a copy of a known program. */
export const fileDigest = (path: string): Effect.Effect<string, SpawnFailed> =>
  Effect.tryPromise({
    try: async () => {
      const hash = createHash("sha256")
      const handle = await open(path, "r")
      try {
        const chunk = Buffer.alloc(1024 * 1024)
        for (let offset = 0;;) {
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset)
          if (bytesRead === 0) return hash.digest("hex")
          hash.update(chunk.subarray(0, bytesRead))
          offset += bytesRead
        }
      } finally {
        await handle.close()
      }
    },
    catch: (cause) => new SpawnFailed({ command: path, message: `cannot read ${path}: ${String(cause)}` })
  })
