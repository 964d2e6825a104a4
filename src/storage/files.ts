import { Effect } from "effect"
import { constants } from "node:fs"
import { chmod, lstat, mkdir, open } from "node:fs/promises"

/**
 * The embedded store's directory and files: the directory 0700, the database
 * and its WAL/SHM companions 0600 (SQLite gives the companions the database
 * file's mode), all owned by this user. A symlink or a file owned by someone
 * else is refused rather than followed: whoever controls it could read every
 * stored result or plant rows.
 */

const ownUid = (): number | undefined => (typeof process.getuid === "function" ? process.getuid() : undefined)

const checkOwner = (path: string, uid: number) => {
  const mine = ownUid()
  if (mine !== undefined && uid !== mine) {
    throw new Error(`${path} belongs to uid ${uid}, not to this user (uid ${mine}); chown it or choose another storage.path`)
  }
}

const missing = (error: unknown) => (error as NodeJS.ErrnoException).code === "ENOENT"

const prepareDirectory = async (directory: string) => {
  await mkdir(directory, { recursive: true, mode: 0o700 })
  const stat = await lstat(directory)
  if (!stat.isDirectory()) throw new Error(`${directory} is not a directory`)
  checkOwner(directory, stat.uid)
  if ((stat.mode & 0o777) !== 0o700) await chmod(directory, 0o700)
}

const lstatIfExists = async (path: string) => {
  try {
    return await lstat(path)
  } catch (error) {
    if (missing(error)) return undefined
    throw error
  }
}

const prepareFile = async (file: string, create: boolean) => {
  const stat = await lstatIfExists(file)
  if (stat === undefined) {
    if (!create) return
    // O_EXCL|O_NOFOLLOW: a file or link that appears meanwhile is not taken over.
    const handle = await open(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600)
    await handle.close()
    return
  }
  if (!stat.isFile()) throw new Error(`${file} is not a regular file (a symlink or device is never followed)`)
  checkOwner(file, stat.uid)
  if ((stat.mode & 0o777) !== 0o600) await chmod(file, 0o600)
}

/** Creates or tightens `directory` and `file` (and the WAL/SHM files when they exist). */
export const prepareSqliteFiles = (directory: string, file: string): Effect.Effect<void, Error> =>
  Effect.tryPromise({
    try: async () => {
      await prepareDirectory(directory)
      await prepareFile(file, true)
      await prepareFile(`${file}-wal`, false)
      await prepareFile(`${file}-shm`, false)
    },
    catch: (error) => (error instanceof Error ? error : new Error(String(error)))
  })
