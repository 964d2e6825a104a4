import { Effect } from "effect"
import { constants } from "node:fs"
import { access, lstat, realpath } from "node:fs/promises"
import { dirname } from "node:path"
import { ConfigInvalid } from "../errors.js"

/**
 * Who can change the configuration decides what the server may scan, so the
 * file is trusted only when nobody but its owner (this server's user or root)
 * can write it: neither the file nor its directory (where it could be
 * replaced by a rename) may be writable by group or others, nor owned by
 * another non-root user. Symlinks are followed, and the directory of the path
 * as given is checked as well as the real file's. A read-only file system
 * (a Kubernetes ConfigMap, a `:ro` bind mount) cannot be written by anyone, so
 * its mode bits and owners do not matter.
 *
 * `MCP_CONFIG_ALLOW_INSECURE_PERMISSIONS=true` turns the refusal into a
 * warning, for set-ups that share the file on purpose.
 */
export const INSECURE_PERMISSIONS_OVERRIDE = "MCP_CONFIG_ALLOW_INSECURE_PERMISSIONS"

export interface PathInfo {
  readonly path: string
  readonly kind: "file" | "directory" | "symlink"
  readonly mode: number
  readonly uid: number
  readonly readOnlyFileSystem: boolean
}

/** The problems of one path for a server running as `euid`; empty when only its owner can change it. */
export const permissionProblems = (info: PathInfo, euid: number): ReadonlyArray<string> => {
  if (info.readOnlyFileSystem) return []
  const problems: Array<string> = []
  if (info.kind !== "symlink" && (info.mode & 0o022) !== 0) {
    const who = [(info.mode & 0o020) !== 0 ? "group" : "", (info.mode & 0o002) !== 0 ? "others" : ""].filter((w) => w !== "")
    problems.push(
      `${info.path} (${info.kind}, mode ${(info.mode & 0o7777).toString(8).padStart(4, "0")}) is writable by ${
        who.join(" and ")
      }: run chmod go-w ${info.path}`
    )
  }
  if (info.uid !== 0 && info.uid !== euid) {
    problems.push(
      `${info.path} (${info.kind}) is owned by uid ${info.uid}, neither this server's user (uid ${euid}) nor root: run chown ${euid} ${info.path}`
    )
  }
  return problems
}

const isReadOnlyFileSystem = (path: string): Promise<boolean> =>
  access(path, constants.W_OK).then(
    () => false,
    (error: NodeJS.ErrnoException) => error.code === "EROFS"
  )

const describePath = async (path: string): Promise<PathInfo> => {
  const info = await lstat(path)
  return {
    path,
    kind: info.isSymbolicLink() ? "symlink" : info.isDirectory() ? "directory" : "file",
    mode: info.mode,
    uid: info.uid,
    readOnlyFileSystem: await isReadOnlyFileSystem(path)
  }
}

const overridden = (env: Readonly<Record<string, string | undefined>>): boolean =>
  ["1", "true", "yes", "on"].includes((env[INSECURE_PERMISSIONS_OVERRIDE] ?? "").trim().toLowerCase())

/** Problems already reported under the override, so a poll every few seconds does not repeat them. */
const warned = new Set<string>()

/**
 * Fails with `ConfigInvalid` naming every path and its fix when the config
 * file could be changed by someone other than its owner; with the override
 * set, logs the problems once instead.
 */
export const checkConfigPermissions = (
  file: string,
  env: Readonly<Record<string, string | undefined>>,
  euid: number = process.geteuid?.() ?? 0
): Effect.Effect<void, ConfigInvalid> =>
  Effect.gen(function*() {
    const infos = yield* Effect.tryPromise({
      try: async () => {
        const real = await realpath(file)
        const paths = [...new Set([file, dirname(file), real, dirname(real)])]
        return Promise.all(paths.map(describePath))
      },
      catch: (error) => new ConfigInvalid({ source: file, message: `cannot read ${file}`, issues: [String(error)] })
    })
    const problems = infos.flatMap((info) => permissionProblems(info, euid))
    if (problems.length === 0) return
    if (overridden(env)) {
      const fresh = problems.filter((p) => !warned.has(p))
      for (const problem of fresh) warned.add(problem)
      if (fresh.length > 0) {
        yield* Effect.logWarning(`config: ${INSECURE_PERMISSIONS_OVERRIDE} is set, trusting ${file} although ${fresh.join("; ")}`)
      }
      return
    }
    return yield* new ConfigInvalid({
      source: file,
      message:
        `${file} could be changed by users other than its owner, so it is not trusted; fix the permissions (or set ${INSECURE_PERMISSIONS_OVERRIDE}=true to accept them)`,
      issues: problems
    })
  })
